import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
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
    // Every reaction decides as it did on the day: each reads the registers, and decides its
    // commands, as they stood at its cause (MESH_REPLAY), not as the day ended. Before they did,
    // procurement's reorder points and content ops' stock departed here, and which of them
    // departed turned on when each ran.
    expect(report.decidedOtherwise).toEqual([])

    // A second replay, of the file this time, reports the same bytes.
    const second = await mesh(["sandbox", corpusFile, "--json"])
    expect(second.code, `${second.stderr}\n${second.stdout}`).toBe(0)
    const strip = (text: string) => {
      const { source: _source, ...rest } = JSON.parse(text)
      return JSON.stringify(rest)
    }
    expect(strip(second.stdout)).toBe(strip(first.stdout))
    // The namespace it read is as it was.
    expect(await exported()).toEqual(before)
  }, 900_000)

  it("names each reaction a changed history decides otherwise: its cause, the aggregate and the first difference; nothing appended", async () => {
    // The day as it would have gone had one SKU been set to reorder ten units more: its reorders,
    // recorded with the quantity of the day, are decided again on the changed settings.
    const lines = gunzipSync(readFileSync(corpusFile)).toString("utf8").split("\n")
    type Event = { eventId: string; type: string; aggregateId: string; payload: Record<string, unknown> }
    const commits = lines.slice(1).flatMap((line) => {
      const commit =
        line === "" ? undefined : (JSON.parse(line).commit as { events: Array<Event> } | undefined)
      return commit === undefined ? [] : [commit]
    })
    const reorders = commits.flatMap((c) => c.events).filter((e) => e.type === "ReorderOpened")
    const sku = reorders[0]!.aggregateId
    const ofSku = reorders.filter((e) => e.aggregateId === sku)
    const changed = lines.map((line) => {
      const parsed = line === "" ? undefined : JSON.parse(line)
      const events: Array<Event> | undefined = parsed?.commit?.events
      if (
        events === undefined ||
        !events.some((e) => e.type === "StockItemConfigured" && e.aggregateId === sku)
      )
        return line
      for (const e of events)
        if (e.type === "StockItemConfigured")
          e.payload.reorderQuantity = (e.payload.reorderQuantity as number) + 10
      return JSON.stringify(parsed)
    })
    const file = join(mkdtempSync(join(tmpdir(), "mesh-sandbox-")), "changed.jsonl")
    writeFileSync(file, changed.join("\n"))

    const run = await mesh(["sandbox", file, "--json"])
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0)
    const report = JSON.parse(run.stdout)
    // The recorded events stand: the replay adds nothing and acts on nothing.
    expect(report).toMatchObject({ clean: true, appended: {}, decisionsMadeAnew: 0 })
    expect(report.decidedOtherwise).toEqual([
      {
        agent: "procurement",
        reactor: "procurement-reorder-points",
        count: ofSku.length,
        latest: expect.any(Array),
      },
    ])
    const [departures] = report.decidedOtherwise
    expect(
      departures.latest
        .map((d: { aggregate: string; difference: string }) => `${d.aggregate} ${d.difference}`)
        .sort(),
    ).toEqual(
      ofSku
        .map(
          (e) =>
            `stockItem/${sku} ReorderOpened quantity: recorded ${e.payload.quantity}, now ${(e.payload.quantity as number) + 10}`,
        )
        .sort(),
    )
    // Each names the event of the day it answered.
    const eventIds = new Set(commits.flatMap((c) => c.events.map((e) => e.eventId)))
    for (const d of departures.latest) expect(eventIds.has(d.cause.eventId), d.cause.eventId).toBe(true)
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
