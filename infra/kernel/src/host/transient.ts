import { Cause } from "effect"

/**
 * Whether a part's failure is worth retrying: every failure and defect in the cause is the
 * infrastructure beneath the part being away for a while (a lost connection, a restarting server, a
 * timeout), not the work itself being wrong. A cause of interruptions only is a shutdown, not a
 * failure, and is not transient; neither is a mix of transient and deterministic failures, so that
 * a part stops and says why rather than retry what waiting cannot fix.
 */
export const isTransientFailure = (cause: Cause.Cause<unknown>): boolean => {
  const failures = cause.reasons.flatMap((r) =>
    Cause.isFailReason(r) ? [r.error] : Cause.isDieReason(r) ? [r.defect] : [],
  )
  return failures.length > 0 && failures.every(isTransientError)
}

/**
 * Whether one error (a typed failure or a thrown value) is transient. Read from what the error is,
 * never from what a wrapper wrote about it: our tagged errors by their tag and reason, and the
 * cause they keep; pg by SQLSTATE and Node by errno; nats.js by its error classes' names.
 */
export const isTransientError = (error: unknown): boolean => classify(error, 0)

/** SQLSTATEs of a server going away or asking to be asked again; class 08 (connection exception) is matched whole. */
const transientSqlStates: ReadonlySet<string> = new Set([
  "57P01", // admin_shutdown: a fast shutdown or pg_terminate_backend
  "57P02", // crash_shutdown: another backend crashed and the server is resetting
  "57P03", // cannot_connect_now: starting up, recovering, or shutting down
  "53300", // too_many_connections
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "57014", // query_canceled: a statement timeout or a cancel request
  "55P03", // lock_not_available: a lock timeout
])

/** Node socket and DNS errors of a peer that is down or unreachable for now. */
const transientErrnos: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  // A Kubernetes service or StatefulSet pod name does not resolve while its pods are down.
  "ENOTFOUND",
])

/**
 * pg's own connection errors carry no code, only these messages (pg 8: client.js, pool): the
 * socket closed under a query, a client broken by that is used again (kysely's rollback after the
 * failed statement), or the pool's connect timeout. kysely says the same of a connection it marked
 * broken and is asked to use again ("discarded": a migration's next statement during a Postgres
 * restart, seen in CI stopping a projector for good).
 */
const pgConnectionMessages: ReadonlyArray<RegExp> = [
  /^Connection terminated\b/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Postgres connection has been discarded$/,
  /^timeout exceeded when trying to connect$/,
  /^Query read timeout$/,
]

/** nats.js errors of a server that is away: by class name (nats-core and jetstream set `name`). */
const transientNatsNames: ReadonlySet<string> = new Set([
  "TimeoutError",
  "NoResponders",
  "ConnectionError",
  // A publish or API call while JetStream is still starting after a restart answers "no responders" as this.
  "JetStreamNotEnabled",
])

/** nats.js errors retrying cannot fix: our own connection closed for good, rights, bad arguments. */
const permanentNatsNames: ReadonlySet<string> = new Set([
  "ClosedConnectionError",
  "DrainingConnectionError",
  "PermissionViolationError",
  "AuthorizationError",
  "UserAuthenticationExpiredError",
  "InvalidSubjectError",
  "InvalidArgumentError",
  "InvalidNameError",
  "InvalidOperationError",
])

/** Reasons that say a dependency is away, whichever tagged error carries them (EventLogError, DecisionError, ConnectorError, ModelError, ReadModelDbError). */
const unavailableReasons: ReadonlySet<string> = new Set(["Unavailable", "DatabaseUnavailable", "Timeout"])

// Deep enough for a ProjectionError around an EventLogError around a nats.js error around its cause.
const MAX_DEPTH = 8

type Fields = Readonly<Record<string, unknown>>

const isObject = (value: unknown): value is Fields => typeof value === "object" && value !== null

const classify = (error: unknown, depth: number): boolean => {
  if (depth > MAX_DEPTH || !isObject(error)) return false
  const next = (inner: unknown) => classify(inner, depth + 1)
  if (typeof error._tag === "string") return classifyTagged(error._tag, error, next)
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every(next)
  const code = error.code
  if (typeof code === "string") {
    if (/^[0-9A-Z]{5}$/.test(code) && !transientErrnos.has(code))
      return code.startsWith("08") || transientSqlStates.has(code)
    if (transientErrnos.has(code)) return true
  }
  const name = typeof error.name === "string" ? error.name : ""
  if (permanentNatsNames.has(name)) return false
  if (transientNatsNames.has(name)) return true
  if (name === "RequestError" || name === "JetStreamStatusError" || name === "JetStreamError") {
    // A request with no responders (JetStream not up yet), a pull's 503 or 408, missed heartbeats.
    return (
      next(error.cause) ||
      (typeof code === "number" && (code === 503 || code === 408)) ||
      /no responders|heartbeats missed/i.test(String(error.message))
    )
  }
  if (name === "JetStreamApiError" || name === "StreamNotFoundError" || name === "ConsumerNotFoundError") {
    const status = error.status
    return typeof status === "number" && (status >= 500 || status === 408)
  }
  if (typeof error.message === "string" && pgConnectionMessages.some((m) => m.test(error.message as string)))
    return true
  // Any other error that wraps one (`new Error(message, { cause })`) is what it wraps.
  return "cause" in error && next(error.cause)
}

/** Whether a nats.js error inside an `Unavailable` is one that waiting cannot fix. */
const isPermanentCause = (cause: unknown): boolean => {
  if (!isObject(cause)) return false
  const name = typeof cause.name === "string" ? cause.name : ""
  return permanentNatsNames.has(name) || (name === "JetStreamApiError" && cause.status === 400)
}

const classifyTagged = (tag: string, error: Fields, next: (inner: unknown) => boolean): boolean => {
  const reason = isObject(error.reason) ? error.reason : undefined
  const reasonTag = reason !== undefined && typeof reason._tag === "string" ? reason._tag : error.reason
  switch (tag) {
    case "ProjectionError":
      // Its handler failing, or it being set up wrong, is deterministic; reading the log, writing
      // the store or parking a commit failed as whatever made them fail.
      return (
        (reasonTag === "LogFailed" || reasonTag === "StoreFailed" || reasonTag === "DeadLetterFailed") &&
        reason !== undefined &&
        next(reason.cause)
      )
    case "CommandError":
      // Bad input, spent conflict retries, a missing handler: deterministic. The event log: as its error.
      return reasonTag === "EventLog" && reason !== undefined && next(reason.cause)
    case "RequestLogError":
      // A request id reused for another body is deterministic; recording it failed as the log failed.
      return reasonTag === "LogFailed" && reason !== undefined && next(reason.cause)
    case "MigrationError":
      // A bad migration is deterministic; the database going away during one is not.
      return next(error.cause)
    case "AgentStartError":
    case "UnknownError": // Effect's wrapper of a rejected promise
      return next(error.cause)
    case "TimeoutError": // Effect's timeout
      return true
    case "ReadModelBehind": // a read model catching up to the position a reaction reads it at,
      // unless reading where it stands failed for good (a permission, a missing schema)
      return error.cause === undefined || next(error.cause)
  }
  if (typeof reasonTag === "string" && unavailableReasons.has(reasonTag))
    return !(reason !== undefined && isPermanentCause(reason.cause))
  // A tagged error with no reason that keeps its cause (an agent's read-model query failing) is
  // what failed beneath it: the database going away is transient, a bad query is not.
  if (reasonTag === undefined && "cause" in error) return next(error.cause)
  return false
}
