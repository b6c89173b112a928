import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMesh } from "./testing/runMesh.ts"

// A recorded demo day (the compatibility corpus) re-run through every agent, each in its own
// process, in a sandbox namespace: the mesh's reactions are idempotent and its decisions recorded,
// so the replay adds nothing, calls nothing outside and asks no model, and says so the same way
// every time.

const corpusFile = new URL("../corpus/shop-day-seed11.history.jsonl.gz", import.meta.url).pathname

let server: NatsServerHandle
beforeAll(async () => {
  server = await startNatsServer()
})
afterAll(async () => {
  await server?.stop()
})

const mesh = (args: ReadonlyArray<string>) =>
  runMesh([...args, "--nats-url", server.url], {}, { timeoutMs: 600_000 })

describe("mesh sandbox", () => {
  it("replays a recorded day through the whole mesh: nothing added, no outside call, no model asked, the same report twice", async () => {
    // The day lives in a namespace of its own first, as an SRE's would; the sandbox reads it from there.
    const live = uniqueNamespace("day")
    expect((await mesh(["import", corpusFile, "--namespace", live])).code).toBe(0)

    // The namespace's whole history as a file (commits after the header), to compare after the replays.
    const exported = async () => {
      const file = join(mkdtempSync(join(tmpdir(), "mesh-sandbox-")), "live.jsonl")
      expect((await mesh(["export", "--namespace", live, "--keep-personal", "--out", file])).code).toBe(0)
      return readFileSync(file, "utf8").split("\n").slice(1)
    }
    const before = await exported()
    const first = await mesh(["sandbox", "--namespace", live, "--json"])
    expect(first.stderr).toContain("starting the mesh on it")
    expect(first.code, `${first.stderr}\n${first.stdout}`).toBe(0)
    const report = JSON.parse(first.stdout)
    expect(report).toMatchObject({
      clean: true,
      appended: {},
      outsideCalls: { storefront: 0, payment: 0, supplier: 0, mailbox: 0 },
      decisionsMadeAnew: 0,
      agents: ["procurement", "content-ops", "customer-ops", "conflict-resolver"],
    })
    // Every read model was rebuilt from the log up to the day's last event of what it reads.
    const customerCare = report.projections.find(
      (p: { projection: string }) => p.projection === "customer-care",
    )
    expect(customerCare.checkpoints.customer).toBeGreaterThan(400)
    // The reactions that this build decides otherwise than the day recorded, each named by the
    // event of the day it answered, the aggregate and the first difference. Nothing was appended
    // for them: the recorded events stand. (On this day they are reactions that read the registers,
    // which hold the end of the day when the replay runs, or a read model; which of them depart can
    // turn on when a read model is read, so the two reports are compared without them.)
    const eventIds = new Set(
      before.flatMap((line) => {
        const commit = line === "" ? undefined : JSON.parse(line).commit
        return commit === undefined
          ? []
          : (commit.events as ReadonlyArray<{ eventId?: string }>).map((e) => e.eventId)
      }),
    )
    // Procurement's reorder points read the registers: some of them depart on this day.
    expect(report.decidedOtherwise.length).toBeGreaterThan(0)
    // Its purchasing reads the suppliers' delivery records as they stood when each reorder opened,
    // not as the day ended: a supplier new then is still new, and no order departs.
    expect(report.decidedOtherwise.map((r: { reactor: string }) => r.reactor)).not.toContain(
      "procurement-purchasing",
    )
    for (const reactor of report.decidedOtherwise) {
      expect(report.agents).toContain(reactor.agent)
      expect(reactor.count).toBeGreaterThanOrEqual(reactor.latest.length)
      for (const departure of reactor.latest) {
        expect(eventIds.has(departure.cause.eventId), departure.cause.eventId).toBe(true)
        expect(departure.aggregate).toMatch(/^[A-Za-z]+\/.+/)
        expect(departure.difference.length).toBeGreaterThan(0)
      }
    }

    // A second replay, of the file this time, reports the same bytes.
    const second = await mesh(["sandbox", corpusFile, "--json"])
    expect(second.code, `${second.stderr}\n${second.stdout}`).toBe(0)
    const strip = (text: string) => {
      const { source: _source, decidedOtherwise: _departures, ...rest } = JSON.parse(text)
      return JSON.stringify(rest)
    }
    expect(strip(second.stdout)).toBe(strip(first.stdout))
    // The namespace it read is as it was.
    expect(await exported()).toEqual(before)
  }, 900_000)

  it("refuses to replay into the namespace it reads, and a sandbox that already holds events", async () => {
    const live = uniqueNamespace("live")
    expect((await mesh(["import", corpusFile, "--namespace", live])).code).toBe(0)
    const same = await mesh(["sandbox", "--namespace", live, "--into", live])
    expect(same.code).toBe(2)
    expect(same.stderr).toContain("--into must name another namespace than the one read")
    const taken = await mesh(["sandbox", corpusFile, "--into", live])
    expect(taken.code).toBe(2)
    expect(taken.stderr).toContain(`namespace ${live} already holds events`)
  })
})
