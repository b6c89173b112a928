import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { type HistoryCommit, type HistoryHeader, historyLines, parseHistoryFile } from "./historyFile.ts"

const header: HistoryHeader = {
  format: "mesh-history",
  version: 1,
  namespace: "day1",
  exportedAt: "2026-12-01T10:00:00.000Z",
  selection: { domains: ["customer"], correlationIds: [], aggregates: [], since: null, until: null },
  heads: { customer: 2 },
}
const commit: HistoryCommit = {
  domain: "customer",
  sequence: 1,
  subject: "customer.ticket.tk-1",
  msgId: "c-1",
  events: [{ eventId: "e-1", type: "TicketOpened" }],
}

describe("a history file", () => {
  it("reads back what was written: the header, the commits in order and the content by hash", () => {
    const sha256 = "a".repeat(64)
    const text = historyLines(
      header,
      [commit, { ...commit, sequence: 2, msgId: null }],
      [{ sha256, base64: Buffer.from("prompt").toString("base64") }],
    ).join("\n")
    const read = parseHistoryFile(`${text}\n`)
    expect(Result.isSuccess(read)).toBe(true)
    if (Result.isFailure(read)) return
    expect(read.success.header).toEqual(header)
    expect(read.success.commits.map((c) => [c.sequence, c.msgId])).toEqual([
      [1, "c-1"],
      [2, null],
    ])
    expect(Buffer.from(read.success.objects.get(sha256)!).toString()).toBe("prompt")
  })

  it("refuses another format or a later version at its header, before reading on", () => {
    expect(parseHistoryFile('{"format":"other"}')).toEqual(
      Result.fail('line 1 does not start a mesh-history file (format "other")'),
    )
    expect(parseHistoryFile(JSON.stringify({ ...header, version: 2 }))).toEqual(
      Result.fail("the file is mesh-history version 2; this build reads version 1"),
    )
    expect(Result.isFailure(parseHistoryFile("not json"))).toBe(true)
  })

  it("names the line that is not a commit or an object, and what is wrong with it", () => {
    const text = historyLines(header, [commit], []).join("\n")
    const broken = parseHistoryFile(`${text}\n{"commit":{"domain":"nowhere","sequence":0}}\n`)
    expect(Result.isFailure(broken)).toBe(true)
    if (Result.isSuccess(broken)) return
    expect(broken.failure).toMatch(/^line 3 is neither a commit nor an object: /)
    expect(broken.failure).toMatch(/domain/)
    const cut = parseHistoryFile(`${text}\n{"commit":`)
    expect(Result.isFailure(cut) && cut.failure).toMatch(/^line 3 is not JSON/)
  })
})
