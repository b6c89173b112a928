import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Dot, Hlc, SiteId, VersionVector, WriterId } from "../registers/clock.ts"
import { StoredSnapshot } from "../registers/register.ts"
import { anyAggregateType, SubjectToken } from "../subjects.ts"
import { Sha256Hex } from "./actions.ts"
import { NonEmpty } from "./common.ts"

// The registers domain is a platform domain: every change of a shared register, as the register's
// key in the namespace's KV bucket holds it. The KV entry *is* this event (a one-envelope commit),
// so a write costs one compare-and-set, and the registers stream, which sources the bucket, keeps
// every change for history, replay and the resolver. Its aggregate type is the register's name and
// its id the instance's id; each site writes its own key of an instance, so `site` says which.
const domain = "registers" as const
const aggregateType = anyAggregateType

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** Writes of one writer that a write had not seen: its dots `from` to `to`. */
export const UnseenWrites = Schema.Struct({ writer: WriterId, from: PositiveInt, to: PositiveInt })

/** One writer's operation on the register. */
export const RegisterWrite = Schema.TaggedStruct("Write", {
  writer: WriterId,
  dot: Dot,
  hlc: Hlc,
  /** The operation as the register kind encodes it (`{ _tag: "Add", amount: 1 }`, …). */
  op: Schema.Unknown,
  /**
   * What the writer had seen when it decided, when it decided on an earlier read than the value
   * it was applied to; left out, it had seen that value (the snapshot's context without this dot).
   */
  observed: Schema.optionalKey(VersionVector),
  /** Writes the register held that the writer had not seen: non-empty when it wrote from a stale view. */
  unseen: Schema.Array(UnseenWrites),
})

/** A merge of concurrent snapshots (other sites' keys) into this site's key, written by a resolver. */
export const RegisterMerge = Schema.TaggedStruct("Merge", {
  writer: WriterId,
  hlc: Hlc,
  inputs: Schema.Array(Schema.Struct({ site: SiteId, context: VersionVector })),
  /** The rule that settled them: the kind's merge, or a named domain rule. */
  rule: NonEmpty,
})

/** How many idempotency keys a register's site key remembers. */
export const registerIdempotencyWindow = 32

/** A shared register's value at one site changed. */
export const RegisterChanged = defineEvent({
  type: "RegisterChanged",
  domain,
  aggregateType,
  payload: Schema.Struct({
    register: SubjectToken,
    id: SubjectToken,
    site: SiteId,
    /** The register's kind, as declared (`counter`, `reservations`, `custom:<name>`, …). */
    kind: NonEmpty,
    /** This site key's revision count: 1 for its first write. */
    version: PositiveInt,
    /** The whole value after the change, with its causal context. */
    snapshot: StoredSnapshot,
    change: Schema.Union([RegisterWrite, RegisterMerge]),
    /**
     * The idempotency keys of the latest writes to this site's key (at most
     * `registerIdempotencyWindow`, newest last): a write retried after a lost acknowledgement, or
     * made again by a redelivered reaction, finds its key here and is not applied twice.
     */
    recentKeys: Schema.optionalKey(Schema.Array(NonEmpty)),
  }),
  summary:
    "A shared register's value at one site changed: a writer's operation, or a merge of concurrent values.",
  producer: "any agent (through Registers), conflict-resolver",
  consumers: ["conflict-resolver", "replay", "trace", "mesh registers"],
})

/** The aggregate of a conflict put to a human: `<ns>.registers.conflict.<conflictId>`. */
export const conflictAggregateType = "conflict"

/**
 * Concurrent values of a register that no merge rule settles (a multi-value register's siblings),
 * put to a human. The conflict's id derives from the register, the instance and the context that
 * holds the values, so the same conflict is escalated once however often it is seen.
 */
export const RegisterConflictEscalated = defineEvent({
  type: "RegisterConflictEscalated",
  domain,
  aggregateType: conflictAggregateType,
  payload: Schema.Struct({
    conflictId: SubjectToken,
    register: SubjectToken,
    id: SubjectToken,
    kind: NonEmpty,
    /** The agent that owns the register, for whom the answer is written. */
    owner: SubjectToken,
    /** The values to choose from, as a reader sees them (latest first). */
    values: Schema.Array(Schema.Unknown),
    /** SHA-256 of the values' canonical JSON: an answer must name it, so it is bound to what it was shown. */
    valuesSha256: Sha256Hex,
    /** The context that holds them: the answer replaces exactly these values, and no write made since. */
    context: VersionVector,
    reason: NonEmpty,
  }),
  summary: "Concurrent values of a register that no merge rule settles were put to a human.",
  producer: "conflict-resolver",
  consumers: ["mesh conflicts", "replay", "trace"],
})

/** A human chose one of the escalated values; it was written to the register for its owner. */
export const RegisterConflictResolved = defineEvent({
  type: "RegisterConflictResolved",
  domain,
  aggregateType: conflictAggregateType,
  payload: Schema.Struct({
    conflictId: SubjectToken,
    register: SubjectToken,
    id: SubjectToken,
    /** The position of the chosen value among those escalated. */
    chosen: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    value: Schema.Unknown,
    valuesSha256: Sha256Hex,
  }),
  summary:
    "A human chose one of a conflict's values, recorded before it is written (the register change names this event as its cause).",
  producer: "mesh conflicts resolve",
  consumers: ["conflict-resolver", "replay", "trace"],
})

/** The aggregate of a recorded invariant violation: `<ns>.registers.violation.<violationId>`. */
export const violationAggregateType = "violation"

/** What a violation gets, as its invariant's owner declared (see `InvariantResolution`). */
export const InvariantResolutionSchema = Schema.Union([
  Schema.TaggedStruct("Escalate", {}),
  Schema.TaggedStruct("Command", { agent: SubjectToken, command: NonEmpty, payload: Schema.Unknown }),
  Schema.TaggedStruct("Compensate", { agent: SubjectToken, actionId: NonEmpty, reason: NonEmpty }),
])

/**
 * An invariant across agents was found broken, with the resolution it gets. Its id derives from
 * the invariant, the instance and the violation's subject, so it is recorded once however often
 * the resolver sees it.
 */
export const InvariantViolated = defineEvent({
  type: "InvariantViolated",
  domain,
  aggregateType: violationAggregateType,
  payload: Schema.Struct({
    violationId: SubjectToken,
    invariant: SubjectToken,
    owner: SubjectToken,
    id: SubjectToken,
    /** What is violated, naming this occurrence (the violation's id derives from it). */
    subject: NonEmpty,
    message: NonEmpty,
    resolution: InvariantResolutionSchema,
    /** The causal context of each register as it was read when the violation was found. */
    registers: Schema.Record(SubjectToken, VersionVector),
  }),
  summary: "An invariant across agents was found broken; it names the resolution its owner declared.",
  producer: "conflict-resolver",
  consumers: ["the invariant's owner", "mesh conflicts", "replay", "trace"],
})

/** Every public event of the registers domain. */
export const registerEvents = [
  RegisterChanged,
  RegisterConflictEscalated,
  RegisterConflictResolved,
  InvariantViolated,
] as const
