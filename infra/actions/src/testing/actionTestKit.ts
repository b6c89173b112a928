import {
  type ActionParameters,
  type CompensationSpec,
  type PolicyMode,
  parametersHash,
  type SagaRef,
} from "@mesh/contracts"
import { Clock, Effect } from "effect"
import type { ActionCommands } from "../action/actionCommands.ts"
import type { ActionState } from "../action/actionDecider.ts"

/** One kind of the demo's side effects, with parameters the simulators accept and its undo. */
export interface SampleAction {
  readonly kind: string
  readonly parameters: (n: number) => ActionParameters
  readonly compensation: CompensationSpec
}

/** The three actions the crash tests drive: a refund, a purchase order and a reply. */
export const sampleActions = {
  refund: {
    kind: "payment.refund",
    parameters: (n) => ({ orderId: `O-${n}`, amountMinor: 1_000 + n, currency: "EUR", reason: "damaged" }),
    compensation: { kind: "payment.cancel-refund", parameters: {} },
  },
  purchaseOrder: {
    kind: "supplier.place-order",
    parameters: (n) => ({
      supplierId: "SUP-1",
      sku: `SKU-${n}`,
      quantity: 10 + n,
      unitCostMinor: 250,
      currency: "EUR",
    }),
    compensation: { kind: "supplier.cancel-order", parameters: {} },
  },
  reply: {
    kind: "mailbox.send-message",
    parameters: (n) => ({
      to: `customer-${n}@example.com`,
      subject: `Re: ticket T-${n}`,
      body: "Your refund is on its way.",
    }),
    compensation: { kind: "mailbox.retract-message", parameters: {} },
  },
} as const satisfies Record<string, SampleAction>

/** Records an action request with a given policy mode, as the gate would after evaluating a policy. */
export const requestSampleAction = (
  commands: ActionCommands,
  options: {
    readonly agent: string
    readonly actionId: string
    readonly kind: string
    readonly parameters: ActionParameters
    readonly compensation?: CompensationSpec | null
    readonly mode?: PolicyMode
    readonly maxAttempts?: number
    readonly approvalTtlMs?: number
    readonly saga?: SagaRef | null
  },
) =>
  Effect.gen(function* () {
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    const mode = options.mode ?? "auto"
    return yield* commands.send(
      options.agent,
      options.actionId,
      "request",
      {
        _tag: "RequestAction",
        request: {
          actionId: options.actionId,
          agent: options.agent,
          skill: "test",
          kind: options.kind,
          parameters: options.parameters,
          cause: { decisionId: null, eventId: null },
          saga: options.saga ?? null,
          compensation: options.compensation ?? null,
          maxAttempts: options.maxAttempts ?? 5,
        },
        parametersHash: parametersHash(options.parameters),
        policy: {
          workflow: "test",
          version: "1",
          verdict: { mode, reason: `test policy: ${mode}`, rule: "test" },
          inputs: {
            amount: null,
            confidence: null,
            sentiment: null,
            firstTimeSupplier: null,
            actionsLastHour: 0,
            spendToday: null,
          },
        },
        approvalTtlMs: options.approvalTtlMs ?? 3_600_000,
        now,
      },
      {
        actor: { kind: "agent", id: options.agent },
        correlationId: `test:${options.actionId}`,
        causationId: null,
      },
    )
  })

/** Polls an action until its status is one of `statuses`; fails naming the last status after `timeoutMs`. */
export const waitForActionStatus = async (
  commands: ActionCommands,
  agent: string,
  actionId: string,
  statuses: ReadonlyArray<ActionState["status"]>,
  timeoutMs = 20_000,
): Promise<ActionState> => {
  const deadline = performance.now() + timeoutMs
  let last: ActionState | undefined
  for (;;) {
    last = (await Effect.runPromise(commands.load(agent, actionId))).state
    if (statuses.includes(last.status)) return last
    if (performance.now() > deadline) {
      throw new Error(
        `action ${actionId} is ${last.status}, not ${statuses.join(" or ")}, after ${timeoutMs} ms`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
