import { makeActionCommands } from "@mesh/actions"
import { requestSampleAction, sampleActions } from "@mesh/actions/testing"
import { parametersHash } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { linesOf, runMesh } from "./testing/runMesh.ts"

let server: NatsServerHandle
let nats: NatsHandles
let namespace: string

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  namespace = uniqueNamespace("cli")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const commands = makeActionCommands({ nats, namespace })
  await Effect.runPromise(
    requestSampleAction(commands, {
      agent: "customer-ops",
      actionId: "refund-77",
      kind: sampleActions.refund.kind,
      parameters: sampleActions.refund.parameters(77),
      mode: "require-approval",
    }),
  )
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

/** Runs `mesh <args>` against this file's server and namespace. */
const mesh = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runMesh([...args, "--nats-url", server.url, "--namespace", namespace], env)

describe("mesh approvals, approve and reject", () => {
  const hash = parametersHash(sampleActions.refund.parameters(77))

  it("lists the waiting action with the hash to approve", async () => {
    const listed = await mesh(["approvals"])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain("customer-ops refund-77 awaiting-approval payment.refund")
    expect(listed.stdout).toContain(`hash ${hash}`)
    expect(listed.stdout).toContain("1 actions wait for a human")
  })

  it("refuses to approve without saying who decides", async () => {
    const anonymous = await mesh(["approve", "customer-ops", "refund-77", "--hash", hash])
    expect(anonymous.code).toBe(1)
    expect(anonymous.stderr).toContain("say who decides: --as <name> or MESH_APPROVER")
  })

  it("names bad input and changes nothing", async () => {
    const badHash = await mesh(["approve", "customer-ops", "refund-77", "--hash", "nothex", "--as", "maria"])
    expect(badHash.code).toBe(1)
    expect(badHash.stderr).toContain(
      "invalid decision: parametersHash must be a lowercase hex SHA-256 digest",
    )
    const blank = await mesh(["reject", "customer-ops", "refund-77", "--reason", " ", "--as", "maria"])
    expect(blank.code).toBe(1)
    expect(blank.stderr).toContain("invalid decision: a rejection needs a reason")
    const listed = await mesh(["approvals"])
    expect(listed.stdout).toContain("customer-ops refund-77 awaiting-approval")
  })

  it("refuses other parameters, then approves the shown ones as the named person", async () => {
    const other = await mesh([
      "approve",
      "customer-ops",
      "refund-77",
      "--hash",
      "f".repeat(64),
      "--as",
      "maria",
    ])
    expect(other.code).toBe(1)
    expect(other.stderr).toContain("refund-77: refused (parameters-mismatch); nothing changed")
    const ok = await mesh(["approve", "customer-ops", "refund-77", "--hash", hash], {
      MESH_APPROVER: "maria",
    })
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/refund-77: approved until \d{4}-/)
    const rejectLate = await mesh([
      "reject",
      "customer-ops",
      "refund-77",
      "--reason",
      "changed my mind",
      "--as",
      "jo",
    ])
    expect(rejectLate.code).toBe(1)
    expect(rejectLate.stderr).toContain("refused (already-decided)")
    const unknown = await mesh(["reject", "customer-ops", "nope", "--reason", "x", "--as", "jo"])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("no action nope of agent customer-ops")
  })
})

describe("mesh approvals by filter", () => {
  // Three mails whose mailbox was down parked after their one attempt, and one refund waiting for
  // approval: an operator gives the mails another round and rejects what is left, on the record.
  const bulk = uniqueNamespace("bulk")
  const inBulk = (args: ReadonlyArray<string>) =>
    runMesh([...args, "--nats-url", server.url, "--namespace", bulk])

  beforeAll(async () => {
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace: bulk })))
    const commands = makeActionCommands({ nats, namespace: bulk })
    const now = () => new Date().toISOString()
    for (const n of [1, 2, 3]) {
      const actionId = `mail-${n}`
      await Effect.runPromise(
        requestSampleAction(commands, {
          agent: "customer-ops",
          actionId,
          kind: sampleActions.reply.kind,
          parameters: sampleActions.reply.parameters(n),
          maxAttempts: 1,
        }),
      )
      const context = {
        actor: { kind: "agent" as const, id: "customer-ops" },
        correlationId: `test:${actionId}`,
        causationId: null,
      }
      await Effect.runPromise(
        commands.send(
          "customer-ops",
          actionId,
          "start-1",
          { _tag: "StartAttempt", now: now(), leaseMs: 60_000 },
          context,
        ),
      )
      await Effect.runPromise(
        commands.send(
          "customer-ops",
          actionId,
          "fail-1",
          {
            _tag: "RecordFailure",
            attempt: 1,
            failure: {
              reason: n === 3 ? "mailbox said 429 slow down" : "mailbox unreachable (503)",
              retryable: true,
            },
            retryDelayMs: 0,
            now: now(),
          },
          context,
        ),
      )
    }
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent: "customer-ops",
        actionId: "refund-9",
        kind: sampleActions.refund.kind,
        parameters: sampleActions.refund.parameters(9),
        mode: "require-approval",
      }),
    )
  })

  it("lists by filter, retries parked actions in bulk, never approvals, and discards the rest, each as the named person", async () => {
    const parked = await inBulk(["approvals", "--status", "parked", "--json"])
    expect(linesOf(parked.stdout).map((l) => JSON.parse(l).actionId)).toEqual(["mail-1", "mail-2", "mail-3"])
    const unreachable = await inBulk(["approvals", "--error", "UNREACHABLE", "--json"])
    expect(linesOf(unreachable.stdout).map((l) => JSON.parse(l).actionId)).toEqual(["mail-1", "mail-2"])

    const unfiltered = await inBulk(["approvals", "retry", "--as", "maria"])
    expect(unfiltered.code).toBe(2)
    expect(unfiltered.stderr).toContain("say which actions to retry")

    // --all takes the whole queue, but a waiting refund is never approved in bulk.
    const dry = await inBulk(["approvals", "retry", "--all", "--dry-run", "--as", "maria"])
    expect(dry.stdout).toContain("3 actions would be retried")
    const retried = await inBulk(["approvals", "retry", "--error", "unreachable", "--as", "maria", "--json"])
    expect(retried.code, retried.stderr).toBe(0)
    expect(linesOf(retried.stdout).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ actionId: "mail-1", outcome: "retried" }),
      expect.objectContaining({ actionId: "mail-2", outcome: "retried" }),
    ])
    const left = await inBulk(["approvals", "--json"])
    expect(linesOf(left.stdout).map((l) => `${JSON.parse(l).actionId} ${JSON.parse(l).status}`)).toEqual([
      "mail-3 parked",
      "refund-9 awaiting-approval",
    ])

    const discarded = await inBulk([
      "approvals",
      "discard",
      "--all",
      "--reason",
      "sent by hand; refund settled by phone",
      "--as",
      "maria",
    ])
    expect(discarded.code, discarded.stderr).toBe(0)
    expect(discarded.stdout).toContain("2 actions discarded, 0 refused")
    expect(linesOf((await inBulk(["approvals", "--json"])).stdout)).toEqual([])

    // Every decision is in the log as maria's request.
    const requests = linesOf((await inBulk(["tail", "requests", "--no-follow", "--json"])).stdout).map((l) =>
      JSON.parse(l),
    )
    expect(requests.map((e) => `${e.payload.name} ${e.actor.id} ${e.payload.body.actionId}`)).toEqual([
      "ApproveAction maria mail-1",
      "ApproveAction maria mail-2",
      "RejectAction maria mail-3",
      "RejectAction maria refund-9",
    ])
  })
})
