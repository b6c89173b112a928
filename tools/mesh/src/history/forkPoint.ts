import { type CatalogIssue, describeIssue, type EventCatalog, personalFieldsOf } from "@mesh/contracts"
import { Result } from "effect"
import type { HistoryCommit } from "./historyFile.ts"

// Where a fork branches off a recorded run. The fork keeps the run as it was up to one event: every
// commit of that event's stream before it, and every commit of the other streams that happened
// before it. The event's own commit is replaced by a new input (the same commit with fields of the
// event changed) or left out, and nothing after it is kept: the mesh, started on the fork, carries
// on from there, finishing what was in flight at that moment and reacting to the new input.

/** What takes the fork event's place. */
export type ForkInput =
  /** The event with these payload fields replaced (a JSON object merged over its payload). */
  | { readonly _tag: "With"; readonly fields: Readonly<Record<string, unknown>> }
  /** Nothing: the run carries on as if the event's commit had never been appended. */
  | { readonly _tag: "Drop" }

/** The new input's place in the fork's log: the commit to append, and who made it. */
export interface ForkedCommit {
  readonly commit: HistoryCommit
  /** The event the fork replaced, as recorded. */
  readonly replacedType: string
  /** The payload fields the new input changed that its contract marks as personal data. */
  readonly personalFieldsChanged: ReadonlyArray<string>
}

/** A recorded run cut at one event. */
export interface ForkPoint {
  /** What the fork keeps, in the history's order. */
  readonly before: ReadonlyArray<HistoryCommit>
  /** The recorded commit that holds the fork event. */
  readonly at: HistoryCommit
  /** The fork event as recorded. */
  readonly event: Readonly<Record<string, unknown>>
  /** How many recorded commits come after the fork point (not kept). */
  readonly after: number
}

interface EnvelopeView {
  readonly eventId?: unknown
  readonly type?: unknown
  readonly occurredAt?: unknown
  readonly payload?: unknown
}

const envelopesOf = (commit: HistoryCommit): ReadonlyArray<EnvelopeView> =>
  commit.events as ReadonlyArray<EnvelopeView>

const occurredAtOf = (commit: HistoryCommit): number => {
  const at = envelopesOf(commit)[0]?.occurredAt
  return typeof at === "string" ? Date.parse(at) : Number.NaN
}

/**
 * Cuts `commits` (every stream's, each in sequence order) at the event `eventId`: the commits of its
 * stream before its own, and those of the other streams that occurred before it. Fails naming what
 * is wrong: no such event, or an event the fork cannot replace (a register change, which is a
 * register's state and not an input: fork at the event that changed it).
 */
export const cutAt = (
  commits: ReadonlyArray<HistoryCommit>,
  eventId: string,
): Result.Result<ForkPoint, string> => {
  const index = commits.findIndex((c) => envelopesOf(c).some((e) => e.eventId === eventId))
  if (index < 0) return Result.fail(`no event ${eventId} in the history`)
  const at = commits[index]!
  if (at.subject.startsWith("$KV."))
    return Result.fail(
      `event ${eventId} is a register change (${at.subject.slice(4)}); fork at the event that caused it`,
    )
  const event = envelopesOf(at).find((e) => e.eventId === eventId) as Record<string, unknown>
  const instant = occurredAtOf(at)
  if (Number.isNaN(instant)) return Result.fail(`event ${eventId} has no readable occurredAt`)
  const before: Array<HistoryCommit> = []
  for (const commit of commits) {
    if (commit === at) continue
    const kept =
      commit.domain === at.domain && !commit.subject.startsWith("$KV.")
        ? commit.sequence < at.sequence
        : occurredAtOf(commit) < instant
    if (kept) before.push(commit)
  }
  return Result.succeed({ before, at, event, after: commits.length - before.length - 1 })
}

/** The new ids and chain of the input a fork puts in the fork event's place. */
export interface ForkIdentity {
  /** A fresh id for the `index`-th event of the replaced commit (and, at -1, the commit itself). */
  readonly eventIdOf: (index: number) => string
  /** The fork's chain: its recorded request's id is the correlation id of everything the branch does. */
  readonly correlationId: string
  /** The recorded fork request, the cause of the new input. */
  readonly causationId: string
  readonly occurredAt: string
}

const issueLine = (issue: CatalogIssue): string => describeIssue(issue)

/**
 * The fork event's commit with the new input in its place: the event's payload (upcast to its
 * current version) with `fields` merged over it, checked against its contract; every event of the
 * commit gets a new id and joins the fork's chain, caused by the recorded fork request, so that the
 * branch is one causal tree of its own. Fails naming the field the contract refuses.
 */
export const replaceAt = <D extends EventCatalog>(
  point: ForkPoint,
  fields: Readonly<Record<string, unknown>>,
  catalog: D,
  identity: ForkIdentity,
): Result.Result<ForkedCommit, string> => {
  const type = String(point.event.type)
  const definition = catalog.get(type)
  if (definition === undefined) return Result.fail(`event type ${type} is not in this build's contracts`)
  const decoded = catalog.decode(point.event)
  if (Result.isFailure(decoded))
    return Result.fail(`the recorded ${type} does not decode: ${issueLine(decoded.failure)}`)
  const encoded = catalog.encodePayload(type, decoded.success.payload)
  if (Result.isFailure(encoded))
    return Result.fail(`the recorded ${type} does not encode: ${issueLine(encoded.failure)}`)
  const payload = { ...(encoded.success as Record<string, unknown>), ...fields }
  const unknownFields = Object.keys(fields).filter(
    (name) => !Object.hasOwn(encoded.success as object, name) && !fieldNamesOf(definition.payload).has(name),
  )
  if (unknownFields.length > 0)
    return Result.fail(
      `${type} has no field ${unknownFields.join(", ")} (it has ${[...fieldNamesOf(definition.payload)].join(", ")})`,
    )
  const events = envelopesOf(point.at).map((e, index) => {
    const mine = e.eventId === point.event.eventId
    return {
      ...(e as Record<string, unknown>),
      eventId: identity.eventIdOf(index),
      occurredAt: identity.occurredAt,
      correlationId: identity.correlationId,
      causationId: identity.causationId,
      ...(mine ? { schemaVersion: definition.version, payload } : {}),
    }
  })
  const replaced = events.find((_, i) => envelopesOf(point.at)[i]?.eventId === point.event.eventId)!
  const check = catalog.decode(replaced)
  if (Result.isFailure(check))
    return Result.fail(`the new ${type} does not fit its contract: ${issueLine(check.failure)}`)
  const personal = new Set(personalFieldsOf(definition.payload).map((f) => f.path[0]))
  return Result.succeed({
    commit: { ...point.at, msgId: identity.eventIdOf(-1), events },
    replacedType: type,
    personalFieldsChanged: Object.keys(fields).filter((name) => personal.has(name)),
  })
}

/** The top-level field names of a payload schema (a struct's property signatures). */
const fieldNamesOf = (schema: { readonly ast: unknown }): ReadonlySet<string> => {
  const ast = schema.ast as { propertySignatures?: ReadonlyArray<{ name: PropertyKey }> }
  return new Set((ast.propertySignatures ?? []).map((p) => String(p.name)))
}
