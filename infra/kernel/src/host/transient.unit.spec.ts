import { EventLogError, unavailable } from "@mesh/eventlog"
import { ReadModelDbError } from "@mesh/sql"
import { JetStreamApiError } from "@nats-io/jetstream"
import { errors } from "@nats-io/transport-node"
import { Cause, Schema } from "effect"
import pg from "pg"
import { describe, expect, it } from "vitest"
import { CommandError } from "../deciders/errors.ts"
import { MigrationError } from "../migrations/migrations.ts"
import { ProjectionError } from "../projections/errors.ts"
import { ReadModelBehind } from "../projections/readModelAt.ts"
import { RequestLogError } from "../requests/outsideRequests.ts"
import { isTransientError, isTransientFailure } from "./transient.ts"

// The shapes below are what the libraries construct (pg's DatabaseError, Node's errno errors, the
// nats.js classes); transient.int.spec.ts takes the same errors from real servers.

/** A pg DatabaseError as pg-protocol builds it from an ErrorResponse. */
const databaseError = (code: string, message: string) => {
  const error = new pg.DatabaseError(message, message.length, "error")
  error.code = code
  error.severity = "FATAL"
  return error
}

/** A Node socket error as `net` raises it. */
const socketError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111, syscall: "connect" })

const jetStreamApiError = (status: number, errCode: number, description: string) =>
  new JetStreamApiError({ code: status, err_code: errCode, description })

const storeFailed = (cause: unknown) =>
  new ProjectionError({
    projection: "tickets",
    reason: { _tag: "StoreFailed", operation: "apply a batch", message: "x", cause },
  })

describe("isTransientError", () => {
  it.each([
    [
      "a terminated backend (57P01)",
      databaseError("57P01", "terminating connection due to administrator command"),
    ],
    ["a server starting up (57P03)", databaseError("57P03", "the database system is starting up")],
    [
      "a crash reset (57P02)",
      databaseError("57P02", "terminating connection because of crash of another server process"),
    ],
    ["a connection exception (08006)", databaseError("08006", "connection failure")],
    ["too many connections (53300)", databaseError("53300", "sorry, too many clients already")],
    ["a serialization failure (40001)", databaseError("40001", "could not serialize access")],
    ["a deadlock (40P01)", databaseError("40P01", "deadlock detected")],
    ["a statement timeout (57014)", databaseError("57014", "canceling statement due to statement timeout")],
    ["a refused connection", socketError("ECONNREFUSED")],
    ["a reset connection", socketError("ECONNRESET")],
    ["a name that does not resolve yet", socketError("EAI_AGAIN")],
    [
      "happy eyeballs refused on every address",
      new AggregateError([socketError("ECONNREFUSED"), socketError("ECONNREFUSED")]),
    ],
    ["pg's socket closing under a query", new Error("Connection terminated unexpectedly")],
    [
      "pg's broken client used again",
      new Error("Client has encountered a connection error and is not queryable"),
    ],
    ["pg's pool connect timeout", new Error("timeout exceeded when trying to connect")],
    ["kysely's broken connection used again", new Error("Postgres connection has been discarded")],
    ["a NATS request timeout", new errors.TimeoutError()],
    [
      "no responders",
      new errors.RequestError("no responders: '$JS.API.INFO'", {
        cause: new errors.NoRespondersError("$JS.API.INFO"),
      }),
    ],
    ["a lost NATS connection", new errors.ConnectionError("connection refused")],
    [
      "a request lost with the connection (patches/ of nats-core)",
      new errors.RequestError("connection lost while waiting for the answer", {
        cause: new errors.ConnectionError("connection lost while waiting for the answer"),
      }),
    ],
    [
      "a request made while reconnecting (patches/ of nats-core)",
      new errors.RequestError("not connected: the connection to the server is being re-established", {
        cause: new errors.ConnectionError("not connected"),
      }),
    ],
    [
      "JetStream temporarily unavailable",
      jetStreamApiError(503, 10008, "JetStream system temporarily unavailable"),
    ],
    ["Effect's timeout", new Cause.TimeoutError()],
    [
      "an error wrapping a transient one",
      new Error("checkpoint write failed", { cause: socketError("ECONNRESET") }),
    ],
  ])("%s is transient", (_, error) => {
    expect(isTransientError(error)).toBe(true)
  })

  it.each([
    ["a unique violation (23505)", databaseError("23505", "duplicate key value violates unique constraint")],
    ["a syntax error (42601)", databaseError("42601", 'syntax error at or near "selec"')],
    ["a missing table (42P01)", databaseError("42P01", 'relation "tickets" does not exist')],
    ["a permission error", socketError("EACCES")],
    ["our own NATS connection closed", new errors.ClosedConnectionError()],
    ["a stream that does not exist", jetStreamApiError(404, 10059, "stream not found")],
    ["a programming error", new TypeError("Cannot read properties of undefined (reading 'id')")],
    ["a mix of refused and rejected", new AggregateError([socketError("ECONNREFUSED"), new Error("bad")])],
    ["a string", "ECONNRESET"],
    ["nothing", undefined],
  ])("%s is deterministic", (_, error) => {
    expect(isTransientError(error)).toBe(false)
  })

  it("reads the event log's Unavailable as transient unless its cause is our own closed connection", () => {
    expect(isTransientError(unavailable("append to x", new errors.TimeoutError()))).toBe(true)
    expect(isTransientError(unavailable("append to x", new Error("whatever")))).toBe(true)
    expect(isTransientError(unavailable("append to x", new errors.ClosedConnectionError()))).toBe(false)
    const conflict = new EventLogError({
      reason: {
        _tag: "ConcurrencyConflict",
        aggregateType: "ticket",
        aggregateId: "t1",
        expectedVersion: 1,
        actualVersion: 2,
        expectedSequence: 5,
        actualSequence: 6,
      },
    })
    expect(isTransientError(conflict)).toBe(false)
    expect(
      isTransientError(
        new EventLogError({ reason: { _tag: "InvalidEvent", type: "TicketOpened", message: "x" } }),
      ),
    ).toBe(false)
  })

  it("reads a projection's store and log failures by their cause, and its handler failing as deterministic", () => {
    expect(isTransientError(storeFailed(databaseError("57P01", "terminating connection")))).toBe(true)
    expect(isTransientError(storeFailed(databaseError("23505", "duplicate key")))).toBe(false)
    // Without a cause there is nothing to go by: stop and say why.
    expect(isTransientError(storeFailed(undefined))).toBe(false)
    const logFailed = (cause: unknown) =>
      new ProjectionError({ projection: "tickets", reason: { _tag: "LogFailed", message: "x", cause } })
    expect(isTransientError(logFailed(unavailable("follow MESH_CUSTOMER", new errors.TimeoutError())))).toBe(
      true,
    )
    expect(
      isTransientError(
        logFailed(
          new EventLogError({
            reason: { _tag: "UndecodableMessage", stream: "MESH_CUSTOMER", sequence: 7, message: "x" },
          }),
        ),
      ),
    ).toBe(false)
    const poison = new ProjectionError({
      projection: "tickets",
      reason: {
        _tag: "HandlerFailed",
        stream: "MESH_CUSTOMER",
        sequence: 7,
        eventType: "TicketEscalated",
        eventId: "e1",
        message: "poisoned escalation",
      },
    })
    expect(isTransientError(poison)).toBe(false)
    const misconfigured = new ProjectionError({
      projection: "tickets",
      reason: { _tag: "Misconfigured", message: "it dead-letters but no NATS connection was given" },
    })
    expect(isTransientError(misconfigured)).toBe(false)
  })

  it("reads a command's event-log failure by its cause, and spent conflict retries and bad input as deterministic", () => {
    const viaLog = (cause: unknown) =>
      new CommandError({ commandId: "c1", reason: { _tag: "EventLog", message: "x", cause } })
    expect(isTransientError(viaLog(unavailable("append", new errors.TimeoutError())))).toBe(true)
    expect(isTransientError(viaLog(undefined))).toBe(false)
    expect(
      isTransientError(
        new CommandError({
          commandId: "c1",
          reason: { _tag: "ConflictRetriesExhausted", aggregate: "board/main", attempts: 6 },
        }),
      ),
    ).toBe(false)
    expect(
      isTransientError(
        new CommandError({ commandId: "c1", reason: { _tag: "InvalidCommand", message: "x" } }),
      ),
    ).toBe(false)
  })

  it("reads a request that could not be recorded by its cause, and a reused request id as deterministic", () => {
    const logFailed = (cause: unknown) => new RequestLogError({ reason: { _tag: "LogFailed", cause } })
    expect(isTransientError(logFailed(unavailable("append", new errors.TimeoutError())))).toBe(true)
    expect(isTransientError(logFailed(new Error("no RequestReceived stored")))).toBe(false)
    expect(
      isTransientError(
        new RequestLogError({ reason: { _tag: "RequestIdReused", agent: "customer-ops", requestId: "r-1" } }),
      ),
    ).toBe(false)
  })

  it("tells a bad migration from a database that went away during one", () => {
    const migration = (cause: unknown) => new MigrationError({ schema: "svc", migration: "2026_a", cause })
    expect(isTransientError(migration(databaseError("42P07", 'relation "t" already exists')))).toBe(false)
    expect(isTransientError(migration(new Error("Connection terminated unexpectedly")))).toBe(true)
  })

  it("reads a tagged error with no reason by the cause it keeps, and a read model behind its reader as transient", () => {
    class RecordsError extends Schema.TaggedError<RecordsError>()("RecordsError", {
      query: Schema.String,
      cause: Schema.Defect(),
    }) {}
    expect(isTransientError(new RecordsError({ query: "q", cause: socketError("ECONNREFUSED") }))).toBe(true)
    expect(
      isTransientError(
        new RecordsError({ query: "q", cause: databaseError("42703", "column x does not exist") }),
      ),
    ).toBe(false)
    expect(
      isTransientError(
        new ReadModelBehind({ projection: "p", stream: "S", sequence: 9, at: null, version: 2 }),
      ),
    ).toBe(true)
    // Where it stands could not be read: as its cause.
    const behindFor = (cause: unknown) =>
      new ReadModelBehind({ projection: "p", stream: "S", sequence: 9, at: null, version: 2, cause })
    expect(isTransientError(behindFor(socketError("ECONNREFUSED")))).toBe(true)
    expect(isTransientError(behindFor(databaseError("42501", "permission denied for schema x")))).toBe(false)
  })

  it("reads Unavailable reasons of other tagged errors (ReadModelDbError, and DecisionError's shape)", () => {
    const down = new ReadModelDbError({
      reason: { _tag: "DatabaseUnavailable", location: "postgres://db", cause: socketError("ECONNREFUSED") },
    })
    expect(isTransientError(down)).toBe(true)
    expect(
      isTransientError(new ReadModelDbError({ reason: { _tag: "InvalidDatabaseUrl", message: "x" } })),
    ).toBe(false)
    // @mesh/models depends on the kernel, so its DecisionError is mirrored here by shape.
    class DecisionError extends Schema.TaggedError<DecisionError>()("DecisionError", {
      reason: Schema.Union([
        Schema.TaggedStruct("Unavailable", { operation: Schema.String, message: Schema.String }),
        Schema.TaggedStruct("InvalidDecision", { message: Schema.String }),
      ]),
    }) {}
    expect(
      isTransientError(new DecisionError({ reason: { _tag: "Unavailable", operation: "x", message: "y" } })),
    ).toBe(true)
    expect(isTransientError(new DecisionError({ reason: { _tag: "InvalidDecision", message: "y" } }))).toBe(
      false,
    )
  })
})

describe("isTransientFailure", () => {
  const refused = socketError("ECONNREFUSED")
  it("is true when every failure and defect of the cause is transient", () => {
    expect(isTransientFailure(Cause.fail(storeFailed(refused)))).toBe(true)
    expect(isTransientFailure(Cause.die(refused))).toBe(true)
    expect(isTransientFailure(Cause.combine(Cause.fail(storeFailed(refused)), Cause.interrupt(1)))).toBe(true)
  })

  it("is false for a defect, a mix with a deterministic failure, and a shutdown", () => {
    expect(isTransientFailure(Cause.die(new TypeError("x is not a function")))).toBe(false)
    expect(isTransientFailure(Cause.combine(Cause.fail(refused), Cause.fail(new Error("bad input"))))).toBe(
      false,
    )
    expect(isTransientFailure(Cause.interrupt(1))).toBe(false)
    expect(isTransientFailure(Cause.empty)).toBe(false)
  })
})
