import { makeActionCommands } from "@mesh/actions"
import { requestSampleAction, sampleActions } from "@mesh/actions/testing"
import { meshCatalog, parametersHash, Subjects } from "@mesh/contracts"
import {
  applyTopology,
  DeadLetterHeaders,
  declareTopology,
  initialPosition,
  makeEventLog,
  type NatsHandles,
  openNats,
} from "@mesh/eventlog"
import { type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { headers } from "@nats-io/transport-node"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { linesOf, runMesh } from "./testing/runMesh.ts"

let server: NatsServerHandle
let nats: NatsHandles
const namespace = uniqueNamespace("out")
let openedAt: Date

const metadata = {
  correlationId: "morning-1",
  causationId: null,
  actor: { kind: "agent", id: "customer-ops" },
} as const
const opened = (customerId: string) =>
  ({
    type: "TicketOpened",
    payload: { tenantId: "acme", customerId, channel: "web", subject: "s", body: "b", orderId: null },
  }) as const

beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
  const append = (id: string) =>
    Effect.runPromise(
      log.append({
        aggregate: { domain: "customer", type: "ticket", id },
        expected: initialPosition,
        events: [opened(`C-${id}`)],
        metadata,
      }),
    )
  await append("T-1")
  await new Promise((resolve) => setTimeout(resolve, 50))
  openedAt = new Date()
  await append("T-2")
  await Effect.runPromise(
    requestSampleAction(makeActionCommands({ nats, namespace }), {
      agent: "customer-ops",
      actionId: "refund-9",
      kind: sampleActions.refund.kind,
      parameters: sampleActions.refund.parameters(9),
      mode: "require-approval",
    }),
  )
  // A dead letter as a consumer leaves one: the original message, with why it gave up in headers.
  const h = headers()
  h.set(DeadLetterHeaders.stream, Subjects.streamName(namespace, "customer"))
  h.set(DeadLetterHeaders.sequence, "1")
  h.set(DeadLetterHeaders.subject, Subjects.aggregate(namespace, "customer", "ticket", "T-1"))
  h.set(DeadLetterHeaders.consumer, "triage")
  h.set(DeadLetterHeaders.reason, "handler failed 3 times: refund service said no")
  h.set(DeadLetterHeaders.deliveries, "3")
  await nats.js.publish(
    Subjects.deadLetter(namespace, "triage"),
    new TextEncoder().encode('{"poison":true}'),
    {
      headers: h,
    },
  )
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

/** Runs `mesh` against this file's server and namespace, with debug logs switched on. */
const mesh = (...args: ReadonlyArray<string>) =>
  runMesh([...args, "--nats-url", server.url, "--namespace", namespace], { MESH_LOG_LEVEL: "debug" })

/** Every line of stdout parsed as JSON: anything else there fails the test. The logs went to stderr. */
const jsonLines = async (...args: ReadonlyArray<string>) => {
  const run = await mesh(...args, "--json")
  expect(run.code, run.stderr).toBe(0)
  expect(run.stdout.endsWith("\n")).toBe(true)
  expect(linesOf(run.stderr)).toEqual([expect.stringMatching(/level=DEBUG .*message="connected to NATS"/)])
  return linesOf(run.stdout).map((line) => JSON.parse(line))
}

describe("mesh --json: one object per line, nothing else on stdout", () => {
  it("tail --no-follow prints each event with its stream sequence, then exits", async () => {
    const events = await jsonLines("tail", "customer", "--no-follow")
    expect(events.map((e) => [e.sequence, e.type, e.aggregateId])).toEqual([
      [1, "TicketOpened", "T-1"],
      [2, "TicketOpened", "T-2"],
    ])
    expect(events[0]).toMatchObject({
      correlationId: "morning-1",
      causationId: null,
      payload: { customerId: "C-T-1" },
    })
  })

  it("history prints the aggregate's events", async () => {
    const events = await jsonLines("history", "customer", "ticket", "T-2")
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: "TicketOpened",
      aggregateVersion: 1,
      eventId: expect.any(String),
    })
  })

  it("approvals prints each waiting action with the hash to approve", async () => {
    const queue = await jsonLines("approvals")
    expect(queue).toEqual([
      expect.objectContaining({
        agent: "customer-ops",
        actionId: "refund-9",
        status: "awaiting-approval",
        parametersHash: parametersHash(sampleActions.refund.parameters(9)),
      }),
    ])
  })

  it("dead-letters prints why each message was given up, and the message", async () => {
    const [letter, ...others] = await jsonLines("dead-letters")
    expect(others).toEqual([])
    expect(letter).toEqual({
      sequence: 1,
      consumer: "triage",
      originalStream: Subjects.streamName(namespace, "customer"),
      originalSequence: 1,
      originalSubject: Subjects.aggregate(namespace, "customer", "ticket", "T-1"),
      // Not a commit of events: it holds no event type.
      types: [],
      deliveries: 3,
      reason: "handler failed 3 times: refund service said no",
      deadLetteredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      data: '{"poison":true}',
    })
  })

  it("streams prints each stream's state", async () => {
    const streams = await jsonLines("streams")
    expect(streams.map((s) => s.status)).toEqual(declareTopology({ namespace }).map(() => "unchanged"))
    expect(streams.map((s) => s.stream)).toContain(Subjects.streamName(namespace, "customer"))
  })
})

describe("mesh tail and history as text", () => {
  it("show each event's id, correlation and causation", async () => {
    const run = await mesh("history", "customer", "ticket", "T-1")
    expect(run.code, run.stderr).toBe(0)
    const [line, summary] = linesOf(run.stdout)
    expect(line).toMatch(
      /ticket\/T-1 v1 TicketOpened by agent:customer-ops event=[0-9a-f-]{36} correlation=morning-1 causation=- \{/,
    )
    expect(summary).toBe("1 events; version 1")
  })

  it("tail --since starts at the events stored since a time or a duration ago", async () => {
    const since = async (value: string) =>
      linesOf((await mesh("tail", "customer", "--no-follow", "--since", value)).stdout).map(
        (line) => /ticket\/(T-\d)/.exec(line)?.[1],
      )
    expect(await since(openedAt.toISOString())).toEqual(["T-2"])
    expect(await since("1h")).toEqual(["T-1", "T-2"])
    expect(await since("2999-01-01T00:00:00Z")).toEqual([])
  })
})
