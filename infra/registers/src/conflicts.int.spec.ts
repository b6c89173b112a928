import { customerProfile } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeConflicts } from "./conflicts.ts"
import { makeRegisters, type RegistersShape } from "./registers.ts"

// Answers to escalated conflicts, without a resolver process: the conflicts are escalated here.

const server = useNatsServer()
let nats: NatsHandles

beforeAll(async () => {
  nats = await openNats(server.url)
})
afterAll(async () => {
  await nats?.connection.drain()
})

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const refusal = async <A, E>(effect: Effect.Effect<A, E>): Promise<string> => {
  const exit = await Effect.runPromiseExit(effect)
  if (exit._tag === "Success") throw new Error(`expected a refusal, got ${JSON.stringify(exit.value)}`)
  return String(exit.cause)
}

/** A namespace whose customer C-1 has two sibling profiles, escalated as one conflict. */
const escalatedSiblings = async () => {
  const namespace = uniqueNamespace("answers")
  await run(applyTopology(nats.jsm, declareTopology({ namespace })))
  const open = (agent: string, instance: string) => run(makeRegisters(nats, { namespace, agent, instance }))
  const support = await open("customer-ops", "s1")
  const orders = await open("procurement", "o1")
  await run(support.write(customerProfile, "C-1", { _tag: "Set", value: { email: "old@example.com" } }))
  const stale = await run(orders.read(customerProfile, "C-1"))
  await run(support.write(customerProfile, "C-1", { _tag: "Set", value: { email: "new@example.com" } }))
  await run(
    orders.write(
      customerProfile,
      "C-1",
      { _tag: "Set", value: { email: "old@example.com", shippingAddress: "1 Main St" } },
      { observed: stale.snapshot.context },
    ),
  )
  const conflicts = makeConflicts(nats, namespace)
  const reading = await run(support.read(customerProfile, "C-1"))
  const { conflictId } = await run(conflicts.escalate(customerProfile, reading))
  const [conflict] = await run(conflicts.list)
  return { namespace, open, support, conflicts, conflictId, escalation: conflict!.escalation.payload }
}

const answerAs = (person: string) => ({ kind: "human" as const, id: person })

describe("answers to escalated conflicts", () => {
  it("refuses an answer once the register was written since, instead of replacing a value nobody was shown", async () => {
    const { support, conflicts, conflictId, escalation } = await escalatedSiblings()
    // Support saw both siblings and settled them itself.
    await run(support.write(customerProfile, "C-1", { _tag: "Set", value: { email: "settled@example.com" } }))
    const message = await refusal(
      conflicts.answer(customerProfile, support, {
        conflictId,
        choose: 0,
        valuesSha256: escalation.valuesSha256,
        actor: answerAs("maria"),
      }),
    )
    expect(message).toContain(`no longer holds the values of conflict ${conflictId}`)
    expect((await run(support.read(customerProfile, "C-1"))).value).toEqual([
      { email: "settled@example.com" },
    ])
    expect((await run(conflicts.list))[0]!.resolution).toBeUndefined()
  })

  it("writes one answer when two people answer at once, and refuses the other", async () => {
    const { open, support, conflicts, conflictId, escalation } = await escalatedSiblings()
    const [maria, joe] = await Promise.all([open("customer-ops", "maria"), open("customer-ops", "joe")])
    const outcomes = await Promise.allSettled(
      [
        [maria, "maria", 0],
        [joe, "joe", 1],
      ].map(([registers, person, choose]) =>
        run(
          conflicts.answer(customerProfile, registers as RegistersShape, {
            conflictId,
            choose: choose as number,
            valuesSha256: escalation.valuesSha256,
            actor: answerAs(person as string),
          }),
        ),
      ),
    )
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1)
    const refused = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult
    expect(String(refused.reason)).toContain("already resolved")
    const settled = await run(support.read(customerProfile, "C-1"))
    expect(settled.value).toHaveLength(1)
    expect(settled.unresolved).toEqual([])
  })

  it("completes an answer that was recorded but never written, by answering again", async () => {
    const { open, support, conflicts, conflictId, escalation } = await escalatedSiblings()
    // Content ops may not write customer profiles: the answer is recorded, then its write is refused,
    // as when the process dies between the two.
    const notAWriter = await open("content-ops", "c1")
    const first = await refusal(
      conflicts.answer(customerProfile, notAWriter, {
        conflictId,
        choose: 1,
        valuesSha256: escalation.valuesSha256,
        actor: answerAs("maria"),
      }),
    )
    expect(first).toContain("may not write register customer-profile")
    expect((await run(conflicts.list))[0]!.resolution?.payload.chosen).toBe(1)
    expect((await run(support.read(customerProfile, "C-1"))).unresolved).toHaveLength(2)

    // Answering again writes the recorded choice, whatever the second answer says.
    const written = await run(
      conflicts.answer(customerProfile, support, {
        conflictId,
        choose: 0,
        valuesSha256: escalation.valuesSha256,
        actor: answerAs("maria"),
      }),
    )
    expect(written.value).toEqual([escalation.values[1]])
    const again = await refusal(
      conflicts.answer(customerProfile, support, {
        conflictId,
        choose: 1,
        valuesSha256: escalation.valuesSha256,
        actor: answerAs("maria"),
      }),
    )
    expect(again).toContain("already resolved")
  })
})
