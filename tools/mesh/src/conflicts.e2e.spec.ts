import { customerProfile, shopInvariants } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { type ConflictsShape, makeConflicts, makeRegisters, type RegistersShape } from "@mesh/registers"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { linesOf, type MeshRun, runMesh } from "./testing/runMesh.ts"

let server: NatsServerHandle
let nats: NatsHandles
const namespace = uniqueNamespace("conflicts")
let support: RegistersShape
let conflicts: ConflictsShape
/** The escalated profile edits: its id, the digest to answer with, and its values as listed. */
let escalated: { conflictId: string; valuesSha256: string; values: ReadonlyArray<unknown> }
let commandViolationId: string
let escalateViolationId: string

const [publishedListingHasStock, , promisedDateHasPurchaseOrder] = shopInvariants

// The story the commands read: a customer profile edited by orders from a stale view, so that
// its two values wait side by side and are put to a human; and two invariant violations, one the
// owner acts on by a command, one put to a human.
beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const run = Effect.runPromise
  support = await run(makeRegisters(nats, { namespace, agent: "customer-ops", instance: "s1" }))
  const orders = await run(makeRegisters(nats, { namespace, agent: "procurement", instance: "o1" }))
  await run(support.write(customerProfile, "C-7", { _tag: "Set", value: { email: "old@example.com" } }))
  const stale = await run(orders.read(customerProfile, "C-7"))
  await run(support.write(customerProfile, "C-7", { _tag: "Set", value: { email: "new@example.com" } }))
  await run(
    orders.write(
      customerProfile,
      "C-7",
      { _tag: "Set", value: { email: "old@example.com", shippingAddress: "1 Main St" } },
      { observed: stale.snapshot.context },
    ),
  )

  conflicts = makeConflicts(nats, namespace)
  const reading = await run(support.read(customerProfile, "C-7"))
  const { conflictId } = await run(conflicts.escalate(customerProfile, reading))
  const [conflict] = await run(conflicts.list)
  const { valuesSha256, values } = conflict!.escalation.payload
  escalated = { conflictId, valuesSha256, values }

  const command = await run(
    conflicts.recordViolation(
      publishedListingHasStock!,
      "SKU-Q",
      {
        subject: "published-1",
        message: "listing SKU-Q is published with 0 units on hand",
        resolution: {
          _tag: "Command",
          agent: "content-ops",
          command: "MarkListingOutOfStock",
          payload: { sku: "SKU-Q" },
        },
      },
      {},
    ),
  )
  commandViolationId = command.violationId
  const escalate = await run(
    conflicts.recordViolation(
      promisedDateHasPurchaseOrder!,
      "SKU-R",
      {
        subject: "no-order-for-20261209",
        message: "SKU-R has a promised restock date 2026-12-09T00:00:00.000Z but no open purchase order",
        resolution: { _tag: "Escalate" },
      },
      {},
    ),
  )
  escalateViolationId = escalate.violationId
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

/** Runs `mesh conflicts <args>` against this file's server and namespace. */
const mesh = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runMesh(["conflicts", ...args, "--nats-url", server.url, "--namespace", namespace], env)

/** Every line of stdout parsed as JSON: anything else there fails the test. */
const jsonLines = async (...args: ReadonlyArray<string>) => {
  const run = await mesh([...args, "--json"])
  expect(run.code, run.stderr).toBe(0)
  return linesOf(run.stdout).map((line) => JSON.parse(line))
}

/** A refusal: one line on stderr naming what is wrong, nothing on stdout, and the exit code. */
const expectRefusal = (run: MeshRun, code: number, message: string | RegExp) => {
  expect(run.code, run.stderr).toBe(code)
  expect(linesOf(run.stderr)).toEqual([
    typeof message === "string" ? `mesh: ${message}` : expect.stringMatching(message),
  ])
  expect(run.stdout).toBe("")
}

/** Runs `mesh conflicts resolve` on the escalated profile edits. */
const resolve = (
  choose: number,
  hash: string,
  more: ReadonlyArray<string> = [],
  env: Record<string, string> = {},
) => mesh(["resolve", escalated.conflictId, "--choose", String(choose), "--hash", hash, ...more], env)

const iso = "\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z"
/** Text to match as it is, inside a regular expression. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
/** The position of the value orders wrote, among those escalated (latest first). */
const ordersValue = () => escalated.values.findIndex((v) => JSON.stringify(v).includes("1 Main St"))

describe("mesh conflicts", () => {
  it("lists the open escalation with its numbered values and digest, then each violation, newest last", async () => {
    const run = await mesh([])
    expect(run.code, run.stderr).toBe(0)
    const [escalation, first, second, violation, otherViolation, summary, ...rest] = linesOf(run.stdout)
    expect(escalation).toMatch(
      new RegExp(
        `^escalation ${escalated.conflictId} customer-profile/C-7 owner customer-ops open since ${iso}: ` +
          `2 concurrent values that the multi-value merge keeps side by side; hash ${escalated.valuesSha256}$`,
      ),
    )
    expect([first, second]).toEqual(escalated.values.map((v, n) => `  ${n} ${JSON.stringify(v)}`))
    expect(escalated.values).toContainEqual({ email: "new@example.com" })
    expect(violation).toMatch(
      new RegExp(
        `^violation ${commandViolationId} published-listing-has-stock owner content-ops SKU-Q at ${iso}: ` +
          `listing SKU-Q is published with 0 units on hand; resolution command MarkListingOutOfStock to content-ops \\{"sku":"SKU-Q"\\}$`,
      ),
    )
    expect(otherViolation).toMatch(
      new RegExp(
        `^violation ${escalateViolationId} promised-date-has-purchase-order owner procurement SKU-R at ${iso}: ` +
          `${literally("SKU-R has a promised restock date 2026-12-09T00:00:00.000Z but no open purchase order")}; resolution escalate to a human$`,
      ),
    )
    expect(summary).toBe(
      `1 escalation (1 open), 2 violations (1 to escalate) in namespace ${namespace}; ` +
        "answer with `mesh conflicts resolve <conflict-id> --choose <n> --hash <sha256> --as <name>`",
    )
    expect(rest).toEqual([])
  })

  it("prints one object per item as JSON, `kind` saying which", async () => {
    const items = await jsonLines()
    expect(items.map((item) => item.kind)).toEqual(["escalation", "violation", "violation"])
    expect(items[0]).toEqual({
      kind: "escalation",
      conflictId: escalated.conflictId,
      register: "customer-profile",
      id: "C-7",
      registerKind: "multi-value",
      owner: "customer-ops",
      values: escalated.values,
      valuesSha256: escalated.valuesSha256,
      context: { "main/customer-ops/s1": 2, "main/procurement/o1": 1 },
      reason: "2 concurrent values that the multi-value merge keeps side by side",
      status: "open",
      escalatedAt: expect.stringMatching(new RegExp(`^${iso}$`)),
      eventId: expect.any(String),
      correlationId: escalated.conflictId,
      resolution: null,
    })
    expect(items[1]).toMatchObject({
      kind: "violation",
      violationId: commandViolationId,
      invariant: "published-listing-has-stock",
      owner: "content-ops",
      id: "SKU-Q",
      subject: "published-1",
      resolution: { _tag: "Command", agent: "content-ops", command: "MarkListingOutOfStock" },
      recordedAt: expect.stringMatching(new RegExp(`^${iso}$`)),
    })
    expect(items[2]).toMatchObject({ kind: "violation", resolution: { _tag: "Escalate" } })
  })

  it("shows only what waits for a human with --open", async () => {
    const open = await jsonLines("--open")
    expect(open.map((item) => item.conflictId ?? item.violationId)).toEqual([
      escalated.conflictId,
      escalateViolationId,
    ])
  })
})

describe("mesh conflicts resolve", () => {
  /** The profile's value and this site key's revision: what a refusal must leave as it was. */
  const profile = async () => {
    const reading = await Effect.runPromise(support.read(customerProfile, "C-7"))
    return { value: reading.value, revision: reading.sites[0]!.revision }
  }

  it("refuses to answer without saying who decides", async () => {
    expectRefusal(
      await resolve(ordersValue(), escalated.valuesSha256),
      1,
      "say who decides: --as <name> or MESH_APPROVER",
    )
  })

  it("refuses an answer naming other values, a choice out of range and an unknown conflict, and writes nothing", async () => {
    const before = await profile()
    expectRefusal(
      await resolve(0, "0".repeat(64), ["--as", "maria"]),
      1,
      `customer-profile/C-7: the answer names values 000000000000…, but conflict ${escalated.conflictId} escalated ${escalated.valuesSha256.slice(0, 12)}…; nothing written`,
    )
    expectRefusal(
      await resolve(2, escalated.valuesSha256, ["--as", "maria"]),
      1,
      `customer-profile/C-7: choose 0 to 1: conflict ${escalated.conflictId} has 2 values; nothing written`,
    )
    expectRefusal(
      await mesh(["resolve", "c-nope", "--choose", "0", "--hash", escalated.valuesSha256, "--as", "maria"]),
      1,
      `no conflict c-nope in namespace ${namespace} (\`mesh conflicts\` lists them); nothing written`,
    )
    expect(await profile()).toEqual(before)
    expect((await jsonLines("--open"))[0]).toMatchObject({ conflictId: escalated.conflictId, status: "open" })
  })

  it("exits 2 on a conflict id that cannot be one and a hash that is not a SHA-256", async () => {
    expectRefusal(
      await mesh(["resolve", "c.1", "--choose", "0", "--hash", escalated.valuesSha256, "--as", "maria"]),
      2,
      `conflict id "c.1" must be 1-128 characters of letters, digits, '_' or '-'`,
    )
    const badHash = await resolve(0, "nothex", ["--as", "maria"])
    expect(badHash.code).toBe(2)
    expect(badHash.stderr).toContain("Invalid value for flag --hash")
  })

  it("writes the chosen value for the register's owner as the person MESH_APPROVER names, once", async () => {
    const choice = ordersValue()
    const run = await resolve(choice, escalated.valuesSha256, [], { MESH_APPROVER: "maria" })
    expect(run.code, run.stderr).toBe(0)
    expect(linesOf(run.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${escalated.conflictId}: customer-profile/C-7 = ${literally(JSON.stringify([{ email: "old@example.com", shippingAddress: "1 Main St" }]))} ` +
            `\\(value ${choice} chosen by maria, written for customer-ops at site main, change [0-9a-f-]{36}\\)$`,
        ),
      ),
    ])
    const settled = await Effect.runPromise(support.read(customerProfile, "C-7"))
    expect(settled.value).toEqual([{ email: "old@example.com", shippingAddress: "1 Main St" }])
    expect(settled.unresolved).toEqual([])
    expect(settled.sites[0]!.change).toMatchObject({
      actor: { kind: "human", id: "maria" },
      payload: { change: { _tag: "Write", writer: "main/customer-ops/mesh-cli" } },
    })

    const after = await profile()
    expectRefusal(
      await resolve(choice, escalated.valuesSha256, ["--as", "jo"]),
      1,
      `customer-profile/C-7: conflict ${escalated.conflictId} is already resolved; nothing written`,
    )
    expect(await profile()).toEqual(after)
  })

  it("lists the escalation as resolved by the person, and --open no longer shows it", async () => {
    const run = await mesh([])
    expect(run.code, run.stderr).toBe(0)
    const lines = linesOf(run.stdout)
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(
      new RegExp(
        `^escalation ${escalated.conflictId} customer-profile/C-7 owner customer-ops resolved by maria at ${iso}: ` +
          `chose ${ordersValue()} ${literally(JSON.stringify({ email: "old@example.com", shippingAddress: "1 Main St" }))}$`,
      ),
    )
    expect(lines[3]).toBe(`1 escalation (0 open), 2 violations (1 to escalate) in namespace ${namespace}`)
    const [escalation] = await jsonLines()
    expect(escalation).toMatchObject({
      kind: "escalation",
      status: "resolved",
      resolution: {
        by: { kind: "human", id: "maria" },
        chosen: ordersValue(),
        value: { email: "old@example.com", shippingAddress: "1 Main St" },
      },
    })
    expect((await jsonLines("--open")).map((item) => item.violationId)).toEqual([escalateViolationId])
  })
})

describe("mesh conflicts elsewhere", () => {
  it("names a namespace without a registers stream", async () => {
    const bare = uniqueNamespace("bare")
    const run = await runMesh(["conflicts", "--nats-url", server.url, "--namespace", bare])
    expectRefusal(
      run,
      1,
      `namespace ${bare} has no registers stream ${bare.toUpperCase()}_REGISTERS; \`mesh streams\` declares it`,
    )
  })
})
