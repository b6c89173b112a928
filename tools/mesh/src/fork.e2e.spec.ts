import { openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMesh } from "./testing/runMesh.ts"

// A recorded demo day (the compatibility corpus) branched at its first customer message, which a new
// message replaces; every agent runs in its own process on the fork. Dry, the mesh decides, requests
// and gates; it executes nothing. Promoted, each action the fork holds is executed once.

const corpusFile = new URL("../corpus/shop-day-seed11.history.jsonl.gz", import.meta.url).pathname
/** The day's first TicketOpened: a German question about a sold-out watering can. */
const firstTicket = "01a23eaa-71d2-797e-9dd7-4877f16dcf2e"
const newMessage = "Hallo, wann ist die Giesskanne wieder lieferbar? Danke, Lena"

let server: NatsServerHandle
beforeAll(async () => {
  server = await startNatsServer()
})
afterAll(async () => {
  await server?.stop()
})

const mesh = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runMesh([...args, "--nats-url", server.url], env, { timeoutMs: 600_000 })

interface Action {
  actionId: string
  kind: string
  verdict: string
  status: string
  branch: boolean
  successes: number
}

describe("mesh fork", () => {
  it("branches a recorded day at an event: dry it executes nothing; promoted, each action once through its verdict; again, nothing", async () => {
    const fork = uniqueNamespace("fork")
    const dry = await mesh([
      "fork",
      "--from",
      corpusFile,
      "--at",
      firstTicket,
      "--with",
      JSON.stringify({ body: newMessage }),
      "--as",
      "sre-anna",
      "--into",
      fork,
      "--json",
    ])
    expect(dry.code, dry.stderr).toBe(0)
    const branched = JSON.parse(dry.stdout)
    expect(branched).toMatchObject({
      fork,
      chain: `fork-${fork}`,
      replaced: "TicketOpened",
      input: "with",
      outsideCalls: { storefront: 0, payment: 0, supplier: 0, mailbox: 0 },
    })
    expect(branched.kept).toBeGreaterThan(200)
    // The new message was triaged and answered anew (the offline model), and the answer requested.
    expect(branched.decisionsMadeAnew).toBeGreaterThanOrEqual(1)
    expect(branched.appended.actions.ActionRequested).toBeGreaterThanOrEqual(1)
    expect(branched.appended.actions.ActionAttemptStarted).toBeUndefined()
    const reply = (branched.actions as ReadonlyArray<Action>).find((a) => a.branch)!
    expect(reply).toMatchObject({ kind: "mailbox.send-message", status: "requested", successes: 0 })
    // Work in flight at the fork point is held too: a purchase order whose first attempt had failed.
    const inFlight = (branched.actions as ReadonlyArray<Action>).filter((a) => !a.branch)
    expect(inFlight.map((a) => `${a.kind} ${a.status}`)).toEqual(["supplier.place-order retrying"])

    // The branch is one causal tree whose root is the fork, recorded with who made it; the new
    // message is personal data, so the request keeps only its digest.
    const trace = await mesh(["trace", `fork-${fork}`, "--namespace", fork, "--json"])
    expect(trace.code, trace.stderr).toBe(0)
    const tree = JSON.parse(trace.stdout)
    expect(tree.causesOutside).toBe(0)
    expect(tree.roots).toHaveLength(1)
    expect(tree.roots[0].event).toMatchObject({
      type: "RequestReceived",
      actor: { kind: "human", id: "sre-anna" },
      payload: { name: "ForkRun", origin: "cli", body: null },
    })

    const promoted = await mesh(["fork", "promote", fork, "--as", "sre-anna", "--json"])
    expect(promoted.code, promoted.stderr).toBe(0)
    const executed = JSON.parse(promoted.stdout)
    const actions = executed.actions as ReadonlyArray<Action>
    expect(actions.map((a) => `${a.kind} ${a.status} ${a.successes}`).sort()).toEqual([
      "mailbox.send-message succeeded 1",
      "supplier.place-order succeeded 1",
    ])
    // One effect per idempotency key in the simulated systems, and one per action.
    const keys = (executed.outsideEffects as ReadonlyArray<{ key: string; system: string }>).map((e) => e.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(
      (executed.outsideEffects as ReadonlyArray<{ system: string }>).map((e) => e.system).sort(),
    ).toEqual(["mailbox", "supplier"])
    expect(executed.decisionsMadeAnew).toBe(0)

    // Promoting again finds every action done: nothing appended, nothing called.
    const again = await mesh(["fork", "promote", fork, "--as", "sre-anna", "--json"])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain("promoted 1 time before")
    expect(JSON.parse(again.stdout)).toMatchObject({
      appended: {},
      outsideCalls: { storefront: 0, payment: 0, supplier: 0, mailbox: 0 },
    })
  }, 600_000)

  it("refuses a fork it cannot make, naming why, before writing anything", async () => {
    const into = uniqueNamespace("refused")
    const fork = (...extra: ReadonlyArray<string>) =>
      mesh(["fork", "--from", corpusFile, "--into", into, "--as", "sre-anna", ...extra])

    const nowhere = await fork("--with", "{}")
    expect(nowhere.code).toBe(2)
    expect(nowhere.stderr).toContain("say where to fork: --at <event-id>")
    const missing = await fork("--at", "01a23eaa-0000-7000-8000-000000000000", "--drop")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("no event 01a23eaa-0000-7000-8000-000000000000 in the history")
    const typo = await fork("--at", firstTicket, "--with", '{"bdy":"hi"}')
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/TicketOpened has no field bdy \(it has .*body/)
    const wrong = await fork("--at", firstTicket, "--with", '{"channel":"pigeon"}')
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain("the new TicketOpened does not fit its contract")
    const both = await fork("--at", firstTicket, "--with", "{}", "--drop")
    expect(both.code).toBe(2)
    expect(both.stderr).toContain("--with and --drop exclude each other")
    const nobody = await mesh(["fork", "--from", corpusFile, "--at", firstTicket, "--drop", "--into", into])
    expect(nobody.code).toBe(1)
    expect(nobody.stderr).toContain("say who decides: --as <name> or MESH_APPROVER")

    // Nothing was written: the namespace has no stream at all, and promoting it says it is no fork.
    const nats = await openNats(server.url)
    const streams: Array<string> = []
    for await (const name of nats.jsm.streams.names()) streams.push(name)
    await nats.connection.close()
    expect(streams.filter((name) => name.startsWith(`${into.toUpperCase()}_`))).toEqual([])
    const notFork = await mesh(["fork", "promote", into, "--as", "sre-anna"])
    expect(notFork.code).toBe(2)
    expect(notFork.stderr).toContain(`namespace ${into} is not a fork`)
  })
})
