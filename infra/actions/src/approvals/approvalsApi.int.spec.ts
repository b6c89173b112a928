import { parametersHash } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ActionCommands, makeActionCommands } from "../action/actionCommands.ts"
import { requestSampleAction, sampleActions } from "../testing/actionTestKit.ts"
import { ApprovalError, Approvals, makeApprovals } from "./approvals.ts"
import { approvalsHttp } from "./approvalsRoutes.ts"
import { ApproverTokens } from "./approverTokens.ts"
import { approvalQueueFromLog } from "./queueFromLog.ts"

// The approvals API in process, on a real NATS, with the queue folded from the log: what each
// refusal and failure looks like over HTTP. `approvalsApi.e2e.spec.ts` runs it in an agent process.

const nats = useNatsServer()
const agent = "customer-ops"
const mariaToken = "maria-token-0123456789"
const agentToken = "agent-token-0123456789"
const parameters = sampleActions.refund.parameters(1)

/** The approvals API over `commands`, answering fetch-style requests without a listening socket. */
const approvalsHandler = (commands: ActionCommands) => {
  const approvals = Layer.succeed(
    Approvals,
    Approvals.of({
      ...makeApprovals({ commands, approvalTtlMs: 60_000, origin: "http" }),
      queue: (only) =>
        approvalQueueFromLog(commands, only).pipe(
          Effect.mapError(
            (e) => new ApprovalError({ reason: { _tag: "ApprovalUnavailable", message: String(e) } }),
          ),
        ),
    }),
  )
  const tokens = ApproverTokens.layer(
    new Map([
      [mariaToken, "maria"],
      // The agent that requested the actions, holding a token of its own: it must not approve them.
      [agentToken, agent],
    ]),
  )
  return HttpRouter.toWebHandler(approvalsHttp.pipe(Layer.provide([approvals, tokens])), {
    disableLogger: true,
  })
}

let connection: NatsHandles
let commands: ActionCommands
let api: ReturnType<typeof approvalsHandler>

beforeAll(async () => {
  connection = await openNats(nats.url)
  const namespace = uniqueNamespace("ah")
  await Effect.runPromise(applyTopology(connection.jsm, declareTopology({ namespace })))
  commands = makeActionCommands({ nats: connection, namespace })
  api = approvalsHandler(commands)
  for (const actionId of ["refund-1", "refund-2"]) {
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId,
        kind: sampleActions.refund.kind,
        parameters,
        mode: "require-approval",
      }),
    )
  }
})
afterAll(async () => {
  await api?.dispose()
  await connection?.connection.drain()
})

const call = (
  handler: ReturnType<typeof approvalsHandler>["handler"],
  path: string,
  body?: unknown,
  token: string = mariaToken,
) =>
  handler(
    new Request(`http://approvals.test${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    }),
  )
const post = (path: string, body: unknown, token?: string) => call(api.handler, path, body, token)

describe("approvals API", () => {
  it("lists the queue, oldest first, with the hash a human approves", async () => {
    const response = await call(api.handler, `/approvals?agent=${agent}`)
    expect(response.status).toBe(200)
    const { queue } = (await response.json()) as {
      queue: Array<{ actionId: string; parametersHash: string }>
    }
    expect(queue.map((q) => q.actionId)).toEqual(["refund-1", "refund-2"])
    expect(queue[0]?.parametersHash).toBe(parametersHash(parameters))
    expect(await (await call(api.handler, "/approvals?agent=procurement")).json()).toEqual({ queue: [] })
  })

  it("answers input that does not decode with a 400 naming the field, and changes nothing", async () => {
    const cases = [
      [post(`/approvals/${agent}/refund-1/reject`, { reason: "   " }), "reason"],
      [post(`/approvals/${agent}/refund-1/approve`, "{not json"), "body"],
      [
        post(`/approvals/${agent}/refund.1/approve`, { parametersHash: parametersHash(parameters) }),
        "actionId",
      ],
      [call(api.handler, "/approvals?agent=customer.ops"), "agent"],
    ] as const
    for (const [response, field] of cases) {
      const answered = await response
      expect(answered.status).toBe(400)
      expect(await answered.json()).toMatchObject({ _tag: "BadApprovalRequest", field })
    }
    const { state } = await Effect.runPromise(commands.load(agent, "refund-1"))
    expect(state.status).toBe("awaiting-approval")
  })

  it("says 404 for an unknown action, and 409 naming the refusal for other parameters or self-approval", async () => {
    const unknown = await post(`/approvals/${agent}/refund-9/approve`, {
      parametersHash: parametersHash(parameters),
    })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ _tag: "ActionNotFound", agent, actionId: "refund-9" })
    const mismatch = await post(`/approvals/${agent}/refund-1/approve`, {
      parametersHash: parametersHash({ ...parameters, amountMinor: 1 }),
    })
    expect(mismatch.status).toBe(409)
    expect(await mismatch.json()).toMatchObject({ _tag: "DecisionRefused", refusal: "parameters-mismatch" })
    const self = await post(
      `/approvals/${agent}/refund-1/approve`,
      { parametersHash: parametersHash(parameters) },
      agentToken,
    )
    expect(self.status).toBe(409)
    expect(await self.json()).toMatchObject({ refusal: "self-approval" })
  })

  it("approves as the token's identity, records it, and refuses the same approval again", async () => {
    const approve = () =>
      post(`/approvals/${agent}/refund-1/approve`, { parametersHash: parametersHash(parameters) })
    const approved = await approve()
    expect(approved.status).toBe(200)
    expect(await approved.json()).toMatchObject({ _tag: "Approved" })
    const again = await approve()
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ refusal: "already-decided" })
    const history = await Effect.runPromise(
      commands.log.load({ domain: "actions", type: agent, id: "refund-1" }),
    )
    const event = history.events.find((e) => e.type === "ActionApproved")
    expect(event?.actor).toEqual({ kind: "human", id: "maria" })
  })

  it("says 503 when the log cannot be reached, and records nothing", async () => {
    const lost = await openNats(nats.url)
    const unreachable = approvalsHandler(makeActionCommands({ nats: lost, namespace: "gone" }))
    await lost.connection.close()
    try {
      const decided = await call(unreachable.handler, `/approvals/${agent}/refund-2/reject`, {
        reason: "refunded by phone",
      })
      expect(decided.status).toBe(503)
      expect(await decided.json()).toMatchObject({ _tag: "ApprovalsUnavailable" })
      expect((await call(unreachable.handler, "/approvals")).status).toBe(503)
    } finally {
      await unreachable.dispose()
    }
    const { state } = await Effect.runPromise(commands.load(agent, "refund-2"))
    expect(state.status).toBe("awaiting-approval")
  })
})
