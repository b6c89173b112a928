import { randomUUID } from "node:crypto"
import type { ActionParameters } from "@mesh/contracts"
import { Effect, Exit, Schedule } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { CompensationCall, Connector, ConnectorCall, ConnectorError } from "../connectors/connector.ts"

/** One effect in the external system's ledger. */
export interface ContractLedgerEntry {
  /** The idempotency key the effect was applied under. */
  readonly key: string
  /** What happened, e.g. `refund.created`. */
  readonly operation: string
  /** The external reference of what it created or changed. */
  readonly resource: string
}

/**
 * A failure the system is made to have on the next call (`ServerError`, `DropConnection`), before
 * or after applying the effect (`after` is a lost response), or on every call until cleared
 * (`SlowResponse`, answering later than the connector's timeout).
 */
export type ContractFault =
  | { readonly _tag: "ServerError"; readonly when: "before" | "after" }
  | { readonly _tag: "DropConnection"; readonly when: "before" | "after" }
  | { readonly _tag: "SlowResponse" }

/** What the contract suite needs to drive one action kind of a connector against its external system. */
export interface ConnectorContractSetup {
  readonly connector: Connector
  /** The action kind under test and its compensation kind. */
  readonly kind: string
  readonly compensationKind: string
  /** Parameters the system accepts; called once per test with a fresh tag, so tests touch disjoint resources. */
  readonly parameters: (tag: string) => ActionParameters
  /** The same action with a parameter the system sees changed. */
  readonly changed: (parameters: ActionParameters) => ActionParameters
  /** Parameters the system refuses for good. */
  readonly refused: (tag: string) => ActionParameters
  /** Every effect the external system has applied. */
  readonly ledger: () => Promise<ReadonlyArray<ContractLedgerEntry>>
  readonly injectFault: (fault: ContractFault) => Promise<void>
  readonly clearFaults: () => Promise<void>
  readonly close?: () => Promise<void>
}

const run = <A>(effect: Effect.Effect<A, ConnectorError>): Promise<A> => Effect.runPromise(effect)

const failureOf = async <A>(effect: Effect.Effect<A, ConnectorError>): Promise<ConnectorError> => {
  const exit = await Effect.runPromise(Effect.exit(effect))
  if (Exit.isSuccess(exit)) throw new Error(`expected a ConnectorError, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (failure === undefined || failure._tag !== "Fail")
    throw new Error(`expected a typed failure: ${exit.cause}`)
  return failure.error
}

// What an executor does with a retryable failure: the same key again, a bounded number of times.
const retried = <A>(effect: Effect.Effect<A, ConnectorError>) =>
  effect.pipe(Effect.retry({ while: (e) => e.retryable, schedule: Schedule.spaced("50 millis"), times: 60 }))

const faultCases: ReadonlyArray<{
  readonly fault: ContractFault
  readonly reason: string
  readonly title: string
}> = [
  {
    fault: { _tag: "ServerError", when: "before" },
    reason: "Unavailable",
    title: "a server error before the effect",
  },
  {
    fault: { _tag: "ServerError", when: "after" },
    reason: "Unavailable",
    title: "a server error after the effect",
  },
  {
    fault: { _tag: "DropConnection", when: "before" },
    reason: "Unavailable",
    title: "a dropped connection before the effect",
  },
  {
    fault: { _tag: "DropConnection", when: "after" },
    reason: "Unavailable",
    title: "a dropped connection after the effect",
  },
  { fault: { _tag: "SlowResponse" }, reason: "Timeout", title: "a response slower than the timeout" },
]

/**
 * The contract every connector must keep, as a vitest suite for one action kind: one effect per
 * key however often and however concurrently it is sent, a typed conflict for a key reused with
 * other parameters, look-up by key, idempotent compensation, typed refusals, and retryable
 * failures after which a retry with the same key still yields exactly one effect. `setup` runs
 * once, before the suite's tests.
 */
export const describeConnectorContract = (
  name: string,
  setup: () => ConnectorContractSetup | Promise<ConnectorContractSetup>,
): void => {
  describe(`connector contract: ${name}`, () => {
    let subject: ConnectorContractSetup
    beforeAll(async () => {
      subject = await setup()
    })
    afterEach(async () => {
      await subject.clearFaults()
    })
    afterAll(async () => {
      await subject?.close?.()
    })

    const fresh = (parameters?: ActionParameters): ConnectorCall => {
      const tag = randomUUID().slice(0, 8)
      return { key: `contract-${tag}`, kind: subject.kind, parameters: parameters ?? subject.parameters(tag) }
    }
    const compensation = (original: ConnectorCall, originalRef: string): CompensationCall => ({
      key: `${original.key}-undo`,
      kind: subject.compensationKind,
      parameters: {},
      originalKey: original.key,
      originalRef,
    })
    const effectsOf = async (key: string) => (await subject.ledger()).filter((e) => e.key === key)

    it("serves the kind and its compensation", () => {
      expect(subject.connector.kinds).toEqual(
        expect.arrayContaining([subject.kind, subject.compensationKind]),
      )
    })

    it("executes once per key: a repeated call gets the same receipt", async () => {
      const call = fresh()
      const first = await run(subject.connector.execute(call))
      const second = await run(subject.connector.execute(call))
      expect(first.externalRef).not.toBe("")
      expect(second).toStrictEqual(first)
      const effects = await effectsOf(call.key)
      expect(effects).toHaveLength(1)
      expect(effects[0]?.resource).toBe(first.externalRef)
    })

    it("executes once when the same key is sent 20 times in parallel", async () => {
      const call = fresh()
      // Each copy retries what an executor would retry: on a busy machine 20 at once may outlast the
      // timeout, and the point is that however they end, the system applied one effect.
      const receipts = await run(
        Effect.all(
          Array.from({ length: 20 }, () => retried(subject.connector.execute(call))),
          { concurrency: "unbounded" },
        ),
      )
      expect(new Set(receipts.map((r) => JSON.stringify(r))).size).toBe(1)
      expect(await effectsOf(call.key)).toHaveLength(1)
    })

    it("refuses the same key with other parameters as a KeyConflict, not retryable", async () => {
      const call = fresh()
      await run(subject.connector.execute(call))
      const error = await failureOf(
        subject.connector.execute({ ...call, parameters: subject.changed(call.parameters) }),
      )
      expect(error.reason._tag).toBe("KeyConflict")
      expect(error.retryable).toBe(false)
      expect(error.key).toBe(call.key)
      expect(await effectsOf(call.key)).toHaveLength(1)
    })

    it("looks up an unknown key as undefined and an executed one as its receipt", async () => {
      const call = fresh()
      expect(await run(subject.connector.lookup(call))).toBeUndefined()
      const receipt = await run(subject.connector.execute(call))
      expect(await run(subject.connector.lookup(call))).toStrictEqual(receipt)
      expect(await effectsOf(call.key)).toHaveLength(1)
    })

    it("looks up a key used with other parameters as a KeyConflict", async () => {
      const call = fresh()
      await run(subject.connector.execute(call))
      const error = await failureOf(
        subject.connector.lookup({ ...call, parameters: subject.changed(call.parameters) }),
      )
      expect(error.reason._tag).toBe("KeyConflict")
    })

    it("refuses for good what the system refuses: Rejected, not retryable, no effect", async () => {
      const call = fresh(subject.refused(randomUUID().slice(0, 8)))
      const error = await failureOf(subject.connector.execute(call))
      expect(error.reason._tag).toBe("Rejected")
      expect(error.retryable).toBe(false)
      expect(await effectsOf(call.key)).toHaveLength(0)
      const again = await failureOf(subject.connector.execute(call))
      expect(again.reason).toStrictEqual(error.reason)
      expect(await effectsOf(call.key)).toHaveLength(0)
    })

    it("compensates once per compensation key, and the ledger shows the undo", async () => {
      const call = fresh()
      const receipt = await run(subject.connector.execute(call))
      const undo = compensation(call, receipt.externalRef)
      expect(await run(subject.connector.lookup(undo))).toBeUndefined()
      const first = await run(subject.connector.compensate(undo))
      const second = await run(subject.connector.compensate(undo))
      expect(second).toStrictEqual(first)
      expect(first.externalRef).toBe(receipt.externalRef)
      expect(await run(subject.connector.lookup(undo))).toStrictEqual(first)
      const undone = await effectsOf(undo.key)
      expect(undone).toHaveLength(1)
      expect(undone[0]?.resource).toBe(receipt.externalRef)
      expect(undone[0]?.operation).not.toBe((await effectsOf(call.key))[0]?.operation)
    })

    it("refuses a compensation key reused for another effect as a KeyConflict", async () => {
      const [a, b] = [fresh(), fresh()]
      const [ra, rb] = [await run(subject.connector.execute(a)), await run(subject.connector.execute(b))]
      const undo = compensation(a, ra.externalRef)
      await run(subject.connector.compensate(undo))
      const error = await failureOf(subject.connector.compensate({ ...undo, originalRef: rb.externalRef }))
      expect(error.reason._tag).toBe("KeyConflict")
      expect(await effectsOf(undo.key)).toHaveLength(1)
    })

    it("tells a compensation kind from an action kind", async () => {
      const call = fresh()
      const error = await failureOf(subject.connector.execute({ ...call, kind: subject.compensationKind }))
      expect(error.reason._tag).toBe("UnknownKind")
      expect(error.retryable).toBe(false)
      expect(await effectsOf(call.key)).toHaveLength(0)
    })

    for (const { fault, reason, title } of faultCases) {
      it(`fails retryable on ${title}, and a retry with the same key yields one effect`, async () => {
        const call = fresh()
        await subject.injectFault(fault)
        const error = await failureOf(subject.connector.execute(call))
        expect(error.reason._tag).toBe(reason)
        expect(error.retryable).toBe(true)
        await subject.clearFaults()
        const receipt = await run(retried(subject.connector.execute(call)))
        expect(await run(retried(subject.connector.lookup(call)))).toStrictEqual(receipt)
        const effects = await effectsOf(call.key)
        expect(effects).toHaveLength(1)
        expect(effects[0]?.resource).toBe(receipt.externalRef)
      })
    }

    it("finds the receipt by key after a response was lost, as an executor recovering from a crash would", async () => {
      const call = fresh()
      await subject.injectFault({ _tag: "ServerError", when: "after" })
      await failureOf(subject.connector.execute(call))
      await subject.clearFaults()
      const found = await run(subject.connector.lookup(call))
      expect(found).toBeDefined()
      expect(await run(subject.connector.execute(call))).toStrictEqual(found)
      expect(await effectsOf(call.key)).toHaveLength(1)
    })

    it("retries a failed compensation with its key and undoes once", async () => {
      const call = fresh()
      const receipt = await run(subject.connector.execute(call))
      const undo = compensation(call, receipt.externalRef)
      await subject.injectFault({ _tag: "DropConnection", when: "after" })
      const error = await failureOf(subject.connector.compensate(undo))
      expect(error.retryable).toBe(true)
      await subject.clearFaults()
      await run(retried(subject.connector.compensate(undo)))
      expect(await effectsOf(undo.key)).toHaveLength(1)
    })
  })
}
