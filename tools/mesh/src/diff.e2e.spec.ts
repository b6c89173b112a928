import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { meshCatalog, personalFieldsOf } from "@mesh/contracts"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type HistoryCommit, parseHistoryFile } from "./history/historyFile.ts"
import { linesOf, runMesh } from "./testing/runMesh.ts"

// The compatibility corpus: a demo day recorded by `pnpm demo --tickets 60 --orders 30 --products 12
// --seed 11` and cut out by `mesh export` (corpus/README.md). Every build must read, fold and re-run
// it; `mesh diff` over it must report exactly the decisions a changed policy changes.

const corpusFile = new URL("../corpus/shop-day-seed11.history.jsonl.gz", import.meta.url).pathname
const corpus = (() => {
  const parsed = parseHistoryFile(gunzipSync(readFileSync(corpusFile)).toString("utf8"))
  if (Result.isFailure(parsed)) throw new Error(parsed.failure)
  return parsed.success
})()

interface Envelope {
  readonly eventId: string
  readonly type: string
  readonly aggregateType: string
  readonly aggregateId: string
  readonly correlationId: string
  readonly payload: Record<string, unknown>
}
const eventsOf = (commits: ReadonlyArray<HistoryCommit>) =>
  commits.flatMap((c) => c.events as ReadonlyArray<Envelope>)

interface Requested {
  readonly actionId: string
  readonly agent: string
  readonly kind: string
  readonly policy: {
    readonly workflow: string
    readonly verdict: { readonly mode: string; readonly rule: string }
    readonly inputs: {
      readonly amount: { readonly amountMinor: number } | null
      readonly firstTimeSupplier: boolean | null
      readonly actionsLastHour: number
    }
  }
}
const requested = eventsOf(corpus.commits)
  .filter((e) => e.type === "ActionRequested")
  .map((e) => e.payload as unknown as Requested)
const decisions = eventsOf(corpus.commits).filter((e) => e.type === "DecisionRecorded")

let server: NatsServerHandle
let namespace: string
const scratch = mkdtempSync(join(tmpdir(), "mesh-diff-"))

const mesh = (args: ReadonlyArray<string>, ns = namespace) =>
  runMesh([...args, "--nats-url", server.url, "--namespace", ns], {}, { timeoutMs: 120_000 })

/** The JSON lines of a `--json` run, by kind. */
const jsonOf = (stdout: string) => {
  const lines = linesOf(stdout).map((line) => JSON.parse(line) as { kind: string } & Record<string, unknown>)
  return {
    summary: lines.find((l) => l.kind === "summary") as Record<string, unknown>,
    of: (kind: string) => lines.filter((l) => l.kind === kind),
  }
}

/** A policy document as the tests change it: only the parts they touch. */
interface PolicyDocument {
  kinds: Record<string, { rules: Array<{ when: { amountAtLeast?: { amountMinor: number } } }> }>
  quotas: { actionsPerHour?: number }
}

/** A shipped policy with one change, written where `--policy` can read it. */
const changedPolicy = (agent: string, change: (policy: PolicyDocument) => void): string => {
  const policy = JSON.parse(
    readFileSync(new URL(`../../../services/${agent}/policy/actions.json`, import.meta.url), "utf8"),
  )
  change(policy)
  const file = join(scratch, `${agent}-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify(policy))
  return file
}

beforeAll(async () => {
  server = await startNatsServer()
  namespace = uniqueNamespace("corpus")
  const imported = await mesh(["import", corpusFile, "--json"])
  expect(imported.stderr).toBe("")
  expect(imported.code).toBe(0)
  expect(JSON.parse(imported.stdout)).toMatchObject({ commits: corpus.commits.length, sequencesKept: true })
}, 180_000)
afterAll(async () => {
  await server?.stop()
})

describe("mesh import and export", () => {
  it("plays the corpus into an empty namespace, and exports it again commit for commit", async () => {
    const file = join(scratch, "again.jsonl")
    const exported = await mesh(["export", "--out", file, "--keep-personal"])
    expect(exported.code).toBe(0)
    const again = parseHistoryFile(readFileSync(file, "utf8"))
    if (Result.isFailure(again)) throw new Error(again.failure)
    // The registers stream interleaves sourced register changes as they arrive: all else keeps its place.
    const key = (c: HistoryCommit) =>
      JSON.stringify({ ...c, sequence: c.domain === "registers" ? 0 : c.sequence })
    expect(again.success.commits.map(key).sort()).toEqual(corpus.commits.map(key).sort())
    expect([...again.success.objects.keys()].sort()).toEqual([...corpus.objects.keys()].sort())
  })

  it("refuses a namespace that holds events, and a damaged file, naming what is wrong", async () => {
    const again = await mesh(["import", corpusFile])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain(`namespace ${namespace} already holds events`)
    const damaged = join(scratch, "damaged.jsonl")
    const lines = gunzipSync(readFileSync(corpusFile)).toString("utf8").split("\n")
    writeFileSync(damaged, [...lines.slice(0, 3), '{"commit":{"domain":"customer"}}'].join("\n"))
    const refused = await mesh(["import", damaged], uniqueNamespace("damaged"))
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("line 4 is neither a commit nor an object")
  })

  it("cuts a chain with what it depends on, which replays to the same states on its own", async () => {
    const ticket = eventsOf(corpus.commits).find((e) => e.type === "TicketTriaged")!
    const file = join(scratch, "chain.jsonl")
    const cut = await mesh([
      "export",
      "--correlation",
      ticket.correlationId,
      "--out",
      file,
      "--keep-personal",
    ])
    expect(cut.code).toBe(0)
    const slice = parseHistoryFile(readFileSync(file, "utf8"))
    if (Result.isFailure(slice)) throw new Error(slice.failure)
    expect(slice.success.commits.length).toBeLessThan(corpus.commits.length / 4)
    const sandbox = uniqueNamespace("chain")
    expect((await mesh(["import", file], sandbox)).code).toBe(0)
    const aggregate = `ticket/${ticket.aggregateId}`
    const states = async (ns: string) =>
      linesOf((await mesh(["replay", "customer", "--aggregate", aggregate, "--json"], ns)).stdout).map(
        (line) => {
          const { state, type, version } = JSON.parse(line)
          return { state, type, version }
        },
      )
    // The slice holds the ticket up to the chain's last event on it (a later follow-up is another
    // chain's): every state it replays is the state the whole log gives at that event.
    const whole = await states(namespace)
    const sliced = await states(sandbox)
    expect(sliced.length).toBeGreaterThan(1)
    expect(sliced).toEqual(whole.slice(0, sliced.length))
    const chainEvents = eventsOf(corpus.commits).filter((e) => e.correlationId === ticket.correlationId)
    const sliceIds = new Set(eventsOf(slice.success.commits).map((e) => e.eventId))
    expect(chainEvents.every((e) => sliceIds.has(e.eventId))).toBe(true)
  })
})

/** The values at a personal field's path in a payload: strings, and the text of inline decision content. */
const valuesAt = (value: unknown, path: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (value === null || value === undefined) return []
  if (path.length === 0) {
    if (typeof value === "string") return [value]
    const content = value as { _tag?: string; text?: string }
    if (content._tag === "Inline" && typeof content.text === "string") return [content.text]
    return typeof value === "object" ? [JSON.stringify(value)] : []
  }
  const [head, ...rest] = path
  if (head === "[]") return Array.isArray(value) ? value.flatMap((item) => valuesAt(item, rest)) : []
  return valuesAt((value as Record<string, unknown>)[head!], rest)
}

describe("personal data on export", () => {
  it("never leaves in the file: what customers wrote, their names and addresses, and decision content", async () => {
    const file = join(scratch, "redacted.jsonl")
    const exported = await mesh(["export", "--out", file, "--json"])
    expect(exported.code).toBe(0)
    const text = readFileSync(file, "utf8")
    // Every value of a field the contracts mark as personal (and what the mailbox was asked to send)...
    const secrets = new Set<string>()
    for (const event of eventsOf(corpus.commits)) {
      const definition = meshCatalog.get(event.type)
      if (definition === undefined) continue
      for (const field of personalFieldsOf(definition.payload))
        for (const value of valuesAt(event.payload, field.path)) if (value.length >= 12) secrets.add(value)
      const parameters = event.payload.parameters as Record<string, unknown> | undefined
      if (event.type === "ActionRequested" && event.payload.kind === "mailbox.send-message")
        for (const field of ["to", "body"]) secrets.add(String(parameters?.[field]))
    }
    // ...less what the shop says in its own name elsewhere (a product's title, an article made from
    // a person's answer), which a customer's subject line or a reply may repeat.
    const publicText = JSON.stringify(
      eventsOf(corpus.commits)
        .filter((e) =>
          [
            "ListingDrafted",
            "ProductFactsRecorded",
            "KnowledgeDrafted",
            "KnowledgeApproved",
            "KnowledgeArticleProposed",
          ].includes(e.type),
        )
        .map((e) => e.payload),
    )
    const private_ = [...secrets].filter(
      (secret) => !publicText.includes(JSON.stringify(secret).slice(1, -1)),
    )
    // The corpus is full of them: a day of customers writing in.
    expect(private_.length).toBeGreaterThan(100)
    const leaked = private_.filter((secret) => text.includes(JSON.stringify(secret).slice(1, -1)))
    expect(leaked).toEqual([])
    const read = parseHistoryFile(text)
    if (Result.isFailure(read)) throw new Error(read.failure)
    expect(read.success.header.personalData?.treatment).toBe("redacted")
    expect(read.success.header.personalData?.fields).toEqual(
      expect.arrayContaining(["TicketOpened.body", "OrderPlaced.email", "DecisionRecorded.prompt"]),
    )
    // Redacted decision content is kept as its hash: none of it travels in the file.
    expect(read.success.objects.size).toBe(0)

    // The redacted slice still imports, replays and passes the check; its decisions are hashes only.
    const sandbox = uniqueNamespace("redacted")
    expect((await mesh(["import", file], sandbox)).code).toBe(0)
    const check = await mesh(["diff", "--check", "--json"], sandbox)
    expect(check.code).toBe(0)
    expect(jsonOf(check.stdout).summary).toMatchObject({
      incompatible: 0,
      decisionsHashOnly: decisions.length,
    })
    const replayed = await mesh(["replay", "customer", "--json"], sandbox)
    expect(linesOf(replayed.stdout).length).toBe(
      linesOf((await mesh(["replay", "customer", "--json"])).stdout).length,
    )
  }, 240_000)
})

describe("mesh diff over the corpus", () => {
  it("reads, folds and re-weighs all of it under this build, and the shipped policies change no verdict", async () => {
    const run = await mesh(["diff", "--check", "--json"])
    expect(run.stderr).toBe("")
    expect(run.code).toBe(0)
    const { summary, of } = jsonOf(run.stdout)
    expect(of("incompatible")).toEqual([])
    expect(summary).toMatchObject({ actionRequests: requested.length, policyChanges: 0, incompatible: 0 })
    expect(summary.events).toBe(eventsOf(corpus.commits).length)
  })

  it("reports exactly the verdicts a raised threshold and a lowered quota change, and nothing else", async () => {
    const procurement = changedPolicy("procurement", (p) => {
      for (const rule of p.kinds["supplier.place-order"]!.rules)
        if (rule.when.amountAtLeast !== undefined) rule.when.amountAtLeast.amountMinor = 60_000
    })
    const customerOps = changedPolicy("customer-ops", (p) => {
      p.quotas.actionsPerHour = 30
    })
    const run = await mesh(["diff", "--policy", procurement, "--policy", customerOps, "--json"])
    expect(run.code).toBe(0)
    const { summary, of } = jsonOf(run.stdout)
    // Read off the recorded inputs: orders the 500 EUR rule held that are under 600 EUR and from a
    // supplier known before now pass; every customer-ops request made after 30 in its hour is denied.
    const raised = requested
      .filter(
        (r) =>
          r.kind === "supplier.place-order" &&
          r.policy.verdict.rule === "order-of-500-eur-or-more" &&
          (r.policy.inputs.amount?.amountMinor ?? 0) < 60_000 &&
          r.policy.inputs.firstTimeSupplier !== true,
      )
      .map((r) => r.actionId)
    const quota = requested
      .filter(
        (r) =>
          r.policy.workflow === "customer-ops" &&
          r.policy.inputs.actionsLastHour >= 30 &&
          r.policy.verdict.mode !== "deny",
      )
      .map((r) => r.actionId)
    expect(raised.length).toBeGreaterThan(0)
    expect(quota.length).toBeGreaterThan(0)
    const changes = of("policy") as unknown as ReadonlyArray<{
      actionId: string
      workflow: string
      recorded: { mode: string }
      candidate: { mode: string; rule: string }
    }>
    expect(
      changes
        .filter((c) => c.workflow === "procurement")
        .map((c) => c.actionId)
        .sort(),
    ).toEqual(raised.sort())
    expect(
      changes
        .filter((c) => c.workflow === "customer-ops")
        .map((c) => c.actionId)
        .sort(),
    ).toEqual(quota.sort())
    for (const c of changes.filter((c) => c.workflow === "procurement")) expect(c.candidate.mode).toBe("auto")
    for (const c of changes.filter((c) => c.workflow === "customer-ops"))
      expect(c.candidate).toMatchObject({ mode: "deny", rule: "quota:actionsPerHour" })
    // Content ops had no candidate: its requests were left as they were.
    expect(summary.uncovered).toEqual({
      "content-ops": requested.filter((r) => r.policy.workflow === "content-ops").length,
    })
  })

  it("re-runs recorded decisions: the versions that made them answer the same, an older prompt does not", async () => {
    const same = jsonOf((await mesh(["diff", "--skill", "all", "--json"])).stdout)
    expect(same.summary).toMatchObject({ decisionsRerun: decisions.length, skillChanges: 0 })
    const older = await mesh(["diff", "--skill", "triageTicket@2", "--json"])
    expect(older.code).toBe(0)
    const { summary, of } = jsonOf(older.stdout)
    const triaged = decisions.filter((d) => d.payload.skill === "triageTicket")
    expect(summary).toMatchObject({ decisionsRerun: triaged.length })
    const changes = of("skill") as unknown as ReadonlyArray<{
      skill: string
      candidate: { promptVersion: string }
    }>
    expect(changes.length).toBeGreaterThan(0)
    expect(changes.every((c) => c.skill === "triageTicket" && c.candidate.promptVersion === "triage-2")).toBe(
      true,
    )
    const unknown = await mesh(["diff", "--skill", "triageTicket@9"])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("--skill triageTicket@9 names no skill version the agents ship")
  })

  it("fails the check on history this build cannot read, naming the stream and the sequence", async () => {
    const lines = gunzipSync(readFileSync(corpusFile)).toString("utf8").split("\n")
    const at = lines.findIndex((line) => line.includes('"type":"TicketOpened"'))
    lines[at] = lines[at]!.replace('"type":"TicketOpened"', '"type":"TicketTeleported"')
    const file = join(scratch, "newer.jsonl")
    writeFileSync(file, lines.join("\n"))
    const sandbox = uniqueNamespace("newer")
    expect((await mesh(["import", file], sandbox)).code).toBe(0)
    const run = await mesh(["diff", "--check"], sandbox)
    expect(run.code).toBe(1)
    const sequence = (JSON.parse(lines[at]!) as { commit: HistoryCommit }).commit.sequence
    expect(run.stdout).toContain(
      `#${sequence} TicketTeleported: event type TicketTeleported is not in this build's catalogue`,
    )
    expect(run.stderr).toContain("do not read, fold or re-run through this build")
  })
})
