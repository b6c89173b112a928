import { makeActionCommands } from "@mesh/actions"
import { requestSampleAction, sampleActions } from "@mesh/actions/testing"
import { parametersHash } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMesh } from "./testing/runMesh.ts"

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
