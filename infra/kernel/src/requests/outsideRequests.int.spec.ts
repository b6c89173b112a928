import { applyTopology, declareTopology, makeEventLog, type NatsHandles, openNats } from "@mesh/eventlog"
import { countingNats } from "@mesh/eventlog/testing"
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

/** An agent's receiver on `namespace` (a new one: another process), over `handles`. */
const receiverOn = (namespace: string, handles: NatsHandles = nats) => {
  const log = makeEventLog({ nats: handles, catalog: taskCatalog, namespace })
  const tasks = makeCommandHandler(log, taskAggregate)
  const requests = makeRequestLog({ nats: handles, namespace })
  const receive = makeReceive({ agent: "task-board", requests, dispatch: makeDispatch([tasks]) })
  return { log, tasks, requests, receive }
}

const setUp = async () => {
  const namespace = uniqueNamespace("req")
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  return { namespace, ...receiverOn(namespace) }
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

/** A task opened once by a receiver whose JetStream calls are counted, the count then reset. */
const takenOnce = async (requestId: string, title: string) => {
  const { namespace } = await setUp()
  const counted = countingNats(nats)
  const { receive } = receiverOn(namespace, counted.nats)
  const { request, commands } = openTask(requestId, title)
  const first = await Effect.runPromise(receive(request, commands))
  counted.reset()
  return { namespace, counted, receive, request, commands, first }
}

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

  it("answers a retry it took lately from what it kept, without asking the log, as the log would", async () => {
    const { namespace, counted, receive, request, commands, first } = await takenOnce("r-7", "Pack order 12")
    const again = await Effect.runPromise(receive(request, commands))
    expect(counted.calls).toEqual([])
    expect(again.request).toEqual({ ...first.request, duplicate: true })
    expect(again.outcomes[0]).toMatchObject({ status: "already-handled", events: first.outcomes[0]!.events })
    // Another process has kept nothing: it asks the log, which answers the same.
    const elsewhere = await Effect.runPromise(receiverOn(namespace).receive(request, commands))
    expect(elsewhere.request).toEqual(again.request)
    expect(elsewhere.outcomes[0]!.status).toBe("already-handled")
    expect(elsewhere.outcomes[0]!.events.map((e) => e.eventId)).toEqual(
      first.outcomes[0]!.events.map((e) => e.eventId),
    )
  })

  it("takes a request brought twice at once in turn: the second waits for the first and is answered from its copy", async () => {
    const { namespace } = await setUp()
    const counted = countingNats(nats)
    const { log, receive } = receiverOn(namespace, counted.nats)
    const { request, commands } = openTask("r-11", "Pack order 16")
    const [first, second] = await Effect.runPromise(
      Effect.all([receive(request, commands), receive(request, commands)], { concurrency: "unbounded" }),
    )
    expect(first.request.duplicate).toBe(false)
    expect(first.outcomes[0]!.status).toBe("appended")
    expect(second.request).toEqual({ ...first.request, duplicate: true })
    expect(second.outcomes[0]).toMatchObject({ status: "already-handled", events: first.outcomes[0]!.events })
    // Only the first asked JetStream anything: the request's append, the task's read (it has no
    // history yet) and its command's append. Racing it, the second appended the request again, was
    // refused, and read the request and the task.
    expect(counted.calls.map((c) => c.path)).toEqual(["js.publish", "jsm.streams.getMessage", "js.publish"])
    const history = await Effect.runPromise(log.load({ domain: "content", type: "task", id: "r-11" }))
    expect(history.events.map((e) => e.type)).toEqual(["TaskOpened"])
  })

  it("takes a request again after its first taking failed, and requests of other ids meanwhile", async () => {
    const { receive } = await setUp()
    const failing = openTask("r-12", "Pack order 17")
    // A command the handler refuses (no task to close): the first taking fails.
    const refused = [{ ...failing.commands[0]!, command: { _tag: "CompleteTask", by: "ana" } }]
    const other = openTask("r-13", "Pack order 18")
    const [firstExit, otherExit, againExit] = await Effect.runPromise(
      Effect.all(
        [
          Effect.exit(receive(failing.request, refused)),
          Effect.exit(receive(other.request, other.commands)),
          Effect.exit(receive(failing.request, refused)),
        ],
        { concurrency: "unbounded" },
      ),
    )
    expect(Exit.isFailure(firstExit)).toBe(true)
    expect(Exit.isFailure(againExit)).toBe(true)
    expect(Exit.isSuccess(otherExit)).toBe(true)
  })

  it("keeps no copy of a request too large to keep: its retry is answered from the log, the same", async () => {
    const { namespace } = await setUp()
    const counted = countingNats(nats)
    const { receive } = receiverOn(namespace, counted.nats)
    const { request, commands } = openTask("r-14", `Pack order 19: ${"fragile, ".repeat(600)}`)
    const first = await Effect.runPromise(receive(request, commands))
    counted.reset()
    const again = await Effect.runPromise(receive(request, commands))
    expect(counted.reads().length).toBeGreaterThan(0)
    expect(again.request).toEqual({ ...first.request, duplicate: true })
    expect(again.outcomes[0]).toMatchObject({ status: "already-handled" })
    expect(again.outcomes[0]!.events.map((e) => e.eventId)).toEqual(
      first.outcomes[0]!.events.map((e) => e.eventId),
    )
  })

  it("sends a command rebuilt otherwise on a retry to its handler, which answers from the log", async () => {
    const { counted, receive, request, commands, first } = await takenOnce("r-8", "Pack order 13")
    // The same request, its command built again with another title (as a retry that takes an instant again).
    const rebuilt = [{ ...commands[0]!, command: { _tag: "OpenTask", title: "Pack order 13, twice" } }]
    const again = await Effect.runPromise(receive(request, rebuilt))
    expect(counted.reads().length).toBeGreaterThan(0)
    expect(again.outcomes[0]!.status).toBe("already-handled")
    expect(again.outcomes[0]!.events.map((e) => e.eventId)).toEqual(
      first.outcomes[0]!.events.map((e) => e.eventId),
    )
  })

  it("refuses an id reused for another request, from its copy and from the log, and changes nothing", async () => {
    const { namespace, log, receive } = await setUp()
    const { request, commands } = openTask("r-3", "Pack order 11")
    await Effect.runPromise(receive(request, commands))
    const reused = openTask("r-3", "Something else")
    for (const receiver of [receive, receiverOn(namespace).receive]) {
      const refused = await Effect.runPromiseExit(receiver(reused.request, reused.commands))
      expect(Exit.isFailure(refused) && String(refused.cause)).toContain(
        "already received request r-3 with another body",
      )
    }
    const history = await Effect.runPromise(log.load({ domain: "content", type: "task", id: "r-3" }))
    expect(history.events.map((e) => e.payload)).toEqual([{ title: "Pack order 11" }])
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
