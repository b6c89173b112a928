import { applyTopology, declareTopology, makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { makeDispatch } from "../reactors/reactor.ts"
import { taskAggregate, taskCatalog } from "../testing/taskBoard.ts"
import { bodyDigest, makeReceive, makeRequestLog } from "./outsideRequests.ts"

const server = useNatsServer()
let nats: NatsHandles
beforeAll(async () => {
  nats = await openNats(server.url)
})
afterAll(async () => {
  await nats?.connection.drain()
})

const setUp = async () => {
  const namespace = uniqueNamespace("req")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: taskCatalog, namespace })
  const tasks = makeCommandHandler(log, taskAggregate)
  const requests = makeRequestLog({ nats, namespace })
  const receive = makeReceive({ agent: "task-board", requests, dispatch: makeDispatch([tasks]) })
  return { log, tasks, requests, receive }
}

const openTask = (requestId: string, title: string) => ({
  request: {
    requestId,
    name: "OpenTask",
    origin: "http" as const,
    actor: { kind: "human" as const, id: "ana" },
    body: { title },
  },
  commands: [{ aggregateType: "task", aggregateId: requestId, command: { _tag: "OpenTask", title } }],
})

describe("a request from outside", () => {
  it("is recorded before it acts, as the root its events correlate with and are caused by", async () => {
    const { tasks, receive } = await setUp()
    const { request, commands } = openTask("r-1", "Pack order 9")
    const { request: recorded, outcomes } = await Effect.runPromise(receive(request, commands))

    expect(recorded.duplicate).toBe(false)
    expect(recorded.event).toMatchObject({
      type: "RequestReceived",
      aggregateType: "task-board",
      aggregateId: "r-1",
      correlationId: "r-1",
      causationId: null,
      commandId: "r-1",
      actor: { kind: "human", id: "ana" },
      payload: { requestId: "r-1", name: "OpenTask", origin: "http", body: { title: "Pack order 9" } },
    })
    expect(recorded.event.payload.bodySha256).toBe(bodyDigest({ title: "Pack order 9" }))
    const [opened] = outcomes[0]!.events
    expect(opened).toMatchObject({
      type: "TaskOpened",
      correlationId: "r-1",
      causationId: recorded.event.eventId,
    })
    expect((await Effect.runPromise(tasks.state("r-1"))).state.status).toBe("open")
  })

  it("acts once when retried, and answers the first record", async () => {
    const { log, receive } = await setUp()
    const { request, commands } = openTask("r-2", "Pack order 10")
    const first = await Effect.runPromise(receive(request, commands))
    const again = await Effect.runPromise(receive(request, commands))
    expect(again.request.duplicate).toBe(true)
    expect(again.request.event.eventId).toBe(first.request.event.eventId)
    expect(again.outcomes[0]!.status).toBe("already-handled")
    const history = await Effect.runPromise(log.load({ domain: "content", type: "task", id: "r-2" }))
    expect(history.events.map((e) => e.type)).toEqual(["TaskOpened"])
  })

  it("refuses an id reused for another request, and changes nothing", async () => {
    const { receive } = await setUp()
    await Effect.runPromise(receive(openTask("r-3", "Pack order 11").request))
    const reused = await Effect.runPromiseExit(receive(openTask("r-3", "Something else").request))
    expect(Exit.isFailure(reused) && String(reused.cause)).toContain(
      "already received request r-3 with another body",
    )
  })

  it("is recorded even when it decides nothing", async () => {
    const { requests, receive } = await setUp()
    await Effect.runPromise(receive({ ...openTask("r-4", "Nothing to do").request, name: "Ping" }))
    const stored = await Effect.runPromise(
      requests.log.load({ domain: "requests", type: "task-board", id: "r-4" }),
    )
    expect(stored.events.map((e) => e.payload.name)).toEqual(["Ping"])
  })

  it("keeps only the digest of a body marked personal", async () => {
    const { receive } = await setUp()
    const body = { email: "ana@example.com", message: "where is my parcel?" }
    const { request } = await Effect.runPromise(
      receive({ ...openTask("r-5", "x").request, body, personal: true }),
    )
    expect(request.event.payload.body).toBeNull()
    expect(request.event.payload.bodySha256).toBe(bodyDigest(body))
  })

  it("joins the chain it answers: its correlation, and the event it answers as its cause", async () => {
    const { receive } = await setUp()
    const { request } = await Effect.runPromise(
      receive({
        ...openTask("r-6", "x").request,
        name: "ApproveAction",
        joins: { correlationId: "ticket-T-1", causationId: "0196f0a0-0000-7000-8000-000000000001" },
      }),
    )
    expect(request.event.correlationId).toBe("ticket-T-1")
    expect(request.event.causationId).toBe("0196f0a0-0000-7000-8000-000000000001")
    expect(request.metadata).toMatchObject({
      correlationId: "ticket-T-1",
      causationId: request.event.eventId,
    })
  })
})
