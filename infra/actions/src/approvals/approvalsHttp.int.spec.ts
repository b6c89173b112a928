import { parametersHash } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect, Exit, Result, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ActionCommands, makeActionCommands } from "../action/actionCommands.ts"
import { requestSampleAction, sampleActions } from "../testing/actionTestKit.ts"
import { makeApprovals } from "./approvals.ts"
import { parseApproverTokens, serveApprovalsHttp } from "./approvalsHttp.ts"
import { approvalQueueFromLog } from "./queueFromLog.ts"

let server: NatsServerHandle
let nats: NatsHandles
let commands: ActionCommands
let scope: Scope.Closeable
let baseUrl: string

const mariaToken = "maria-token-0123456789"
const agent = "customer-ops"
const parameters = sampleActions.refund.parameters(1)

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  const namespace = uniqueNamespace("ah")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  commands = makeActionCommands({ nats, namespace })
  const approvers = parseApproverTokens(`maria=${mariaToken}, customer-ops=agent-token-0123456789`)
  if (Result.isFailure(approvers)) throw new Error(approvers.failure)
  scope = Effect.runSync(Scope.make())
  baseUrl = await Effect.runPromise(
    serveApprovalsHttp({
      approvals: makeApprovals({ commands, approvalTtlMs: 60_000 }),
      queue: (only) => Effect.runPromise(approvalQueueFromLog(commands, only)),
      approvers: approvers.success,
      port: 0,
      host: "127.0.0.1",
    }).pipe(Scope.provide(scope)),
  )
  for (const actionId of ["refund-1", "refund-2"]) {
    await Effect.runPromise(
      requestSampleAction(commands, {
        agent,
        actionId,
        kind: sampleActions.refund.kind,
        parameters,
        mode: "require-approval",
      }),
    )
  }
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await nats?.connection.drain()
  await server?.stop()
})

const post = (path: string, body: unknown, token: string | null = mariaToken) =>
  fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  })

describe("approvals HTTP API", () => {
  it("lists the queue with the hash a human approves", async () => {
    expect((await fetch(`${baseUrl}/approvals`)).status).toBe(401)
    const response = await fetch(`${baseUrl}/approvals?agent=${agent}`, {
      headers: { authorization: `Bearer ${mariaToken}` },
    })
    expect(response.status).toBe(200)
    const { queue } = (await response.json()) as {
      queue: Array<{ actionId: string; parametersHash: string }>
    }
    expect(queue.map((q) => q.actionId)).toEqual(["refund-1", "refund-2"])
    expect(queue[0]?.parametersHash).toBe(parametersHash(parameters))
  })

  it("refuses a caller without a known approver token", async () => {
    const none = await post(
      `/approvals/${agent}/refund-1/approve`,
      { parametersHash: parametersHash(parameters) },
      null,
    )
    expect(none.status).toBe(401)
    const wrong = await post(
      `/approvals/${agent}/refund-1/approve`,
      { parametersHash: parametersHash(parameters) },
      "not-a-token-at-all-000",
    )
    expect(wrong.status).toBe(401)
  })

  it("answers bad input with a 400 naming what is wrong, and changes nothing", async () => {
    const badHash = await post(`/approvals/${agent}/refund-1/approve`, { parametersHash: "abc" })
    expect(badHash.status).toBe(400)
    expect(((await badHash.json()) as { error: string }).error).toMatch(/parametersHash/)
    const notJson = await post(`/approvals/${agent}/refund-1/approve`, "{nope")
    expect(notJson.status).toBe(400)
    const badReason = await post(`/approvals/${agent}/refund-1/reject`, { reason: "" })
    expect(badReason.status).toBe(400)
    expect(((await badReason.json()) as { error: string }).error).toMatch(/reason/)
    const state = await Effect.runPromise(commands.load(agent, "refund-1"))
    expect(state.state.status).toBe("awaiting-approval")
  })

  it("says 404 for an unknown action and 409 naming the refusal for other parameters or self-approval", async () => {
    const unknown = await post(`/approvals/${agent}/nope/approve`, {
      parametersHash: parametersHash(parameters),
    })
    expect(unknown.status).toBe(404)
    const mismatch = await post(`/approvals/${agent}/refund-1/approve`, {
      parametersHash: parametersHash({ ...parameters, amountMinor: 1 }),
    })
    expect(mismatch.status).toBe(409)
    expect(((await mismatch.json()) as { error: string }).error).toBe("refused: parameters-mismatch")
    const self = await post(
      `/approvals/${agent}/refund-1/approve`,
      { parametersHash: parametersHash(parameters) },
      "agent-token-0123456789",
    )
    expect(self.status).toBe(409)
    expect(((await self.json()) as { error: string }).error).toBe("refused: self-approval")
  })

  it("approves as the token's identity, records it, and refuses the same approval again", async () => {
    const ok = await post(`/approvals/${agent}/refund-1/approve`, {
      parametersHash: parametersHash(parameters),
    })
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { outcome: { _tag: string } }).outcome._tag).toBe("Approved")
    const again = await post(`/approvals/${agent}/refund-1/approve`, {
      parametersHash: parametersHash(parameters),
    })
    expect(again.status).toBe(409)
    const history = await Effect.runPromise(
      commands.log.load({ domain: "actions", type: agent, id: "refund-1" }),
    )
    const approved = history.events.find((e) => e.type === "ActionApproved")
    expect(approved?.actor).toEqual({ kind: "human", id: "maria" })
    expect(approved?.type === "ActionApproved" && approved.payload.approver).toBe("maria")
  })

  it("rejects with a reason, which leaves the queue", async () => {
    const rejected = await post(`/approvals/${agent}/refund-2/reject`, {
      reason: "already refunded by phone",
    })
    expect(rejected.status).toBe(200)
    const response = await fetch(`${baseUrl}/approvals`, {
      headers: { authorization: `Bearer ${mariaToken}` },
    })
    const { queue } = (await response.json()) as { queue: Array<{ actionId: string }> }
    expect(queue).toEqual([])
  })
})

describe("approver tokens", () => {
  it("names the malformed entry without echoing the secret", () => {
    const result = parseApproverTokens("maria=short")
    expect(Result.isFailure(result) && result.failure).toMatch(/entry 1/)
    expect(Result.isFailure(result) && result.failure).not.toMatch(/short/)
  })
})
