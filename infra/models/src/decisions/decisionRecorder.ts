import {
  type CommitMetadata,
  DecisionId,
  type DecisionRecorded,
  decisionEvents,
  type EventEnvelope,
  type EventOf,
  makeCatalog,
  Subjects,
  SubjectToken,
} from "@mesh/contracts"
import {
  decisionCacheLimits,
  type EventLogError,
  initialPosition,
  MeshNamespace,
  makeEventLog,
  NatsClient,
  type NatsHandles,
} from "@mesh/eventlog"
import { Kvm } from "@nats-io/kv"
import { type ObjectStore, Objm, StorageType } from "@nats-io/obj"
import { Clock, type Config, Context, Effect, Layer, Result, Schema } from "effect"
import {
  replaySkill,
  type Skill,
  type SkillInvocation,
  type SkillReplayError,
  type SkillRun,
} from "../skills/skill.ts"
import {
  ContentCorrupt,
  ContentMissing,
  ContentNotRecorded,
  type ContentToStore,
  ContentUnreadable,
  type DecisionBatch,
  type DecisionContentPolicy,
  type DecisionPayload,
  decisionContentPolicyConfig,
  decisionPayload,
  defaultContentPolicy,
  InvalidRecord,
  invocationFromPayload,
  type RetrievedMemoryRef,
  storedHashes,
} from "./decisionContent.ts"

/** No decision with this id was recorded for the agent. */
export const DecisionNotFound = Schema.TaggedStruct("DecisionNotFound", {
  agent: Schema.String,
  decisionId: Schema.String,
})
/** A different decision was already recorded under this id. */
export const AlreadyRecorded = Schema.TaggedStruct("AlreadyRecorded", {
  agent: Schema.String,
  decisionId: Schema.String,
})
/** The request cannot be recorded as it is (a bad id, a value the event schema refuses). */
export const InvalidDecision = Schema.TaggedStruct("InvalidDecision", { message: Schema.String })
/** NATS, JetStream or the object store could not serve the request. */
export const DecisionStoreUnavailable = Schema.TaggedStruct("Unavailable", {
  operation: Schema.String,
  message: Schema.String,
})

/** Why recording or reading back a decision failed. */
export const DecisionErrorReason = Schema.Union([
  ContentMissing,
  ContentCorrupt,
  ContentNotRecorded,
  ContentUnreadable,
  InvalidRecord,
  DecisionNotFound,
  AlreadyRecorded,
  InvalidDecision,
  DecisionStoreUnavailable,
])
/** Why recording or reading back a decision failed. */
export type DecisionErrorReason = typeof DecisionErrorReason.Type

/** The one error of the decision recorder; `reason` says which failure it is. */
export class DecisionError extends Schema.TaggedError<DecisionError>()("DecisionError", {
  reason: DecisionErrorReason,
}) {
  override get message(): string {
    return describeDecisionError(this.reason)
  }
}

/** One sentence naming what went wrong, with the content hash when content is at fault. */
export const describeDecisionError = (r: DecisionErrorReason): string => {
  switch (r._tag) {
    case "ContentMissing":
      return `decision content ${r.sha256} is not in the object store`
    case "ContentCorrupt":
      return `decision content ${r.sha256} is corrupt: the bytes read hash to ${r.actualSha256}`
    case "ContentNotRecorded":
      return `decision content ${r.sha256} was recorded as a hash only and cannot be read back`
    case "ContentUnreadable":
      return `decision content ${r.sha256} cannot be read: ${r.message}`
    case "InvalidRecord":
      return `the recorded decision is not a valid skill invocation: ${r.message}`
    case "DecisionNotFound":
      return `agent ${r.agent} recorded no decision ${r.decisionId}`
    case "AlreadyRecorded":
      return `agent ${r.agent} already recorded another decision as ${r.decisionId}`
    case "InvalidDecision":
      return `the decision cannot be recorded: ${r.message}`
    case "Unavailable":
      return `${r.operation} failed: ${r.message}`
  }
}

const fail = (reason: DecisionErrorReason) => Effect.fail(new DecisionError({ reason }))

const unavailable = (operation: string) => (cause: unknown) =>
  new DecisionError({
    reason: {
      _tag: "Unavailable",
      operation,
      message: cause instanceof Error ? cause.message : String(cause),
    },
  })

/** What to record: a skill run of an agent, the memories its prompt was built from, and the commit's metadata. */
export interface RecordDecisionRequest {
  readonly agent: string
  /** The decision's id (a subject token); events and actions that follow from it cite it. */
  readonly decisionId: string
  readonly invocation: SkillInvocation
  readonly retrieved?: ReadonlyArray<RetrievedMemoryRef>
  /** Whose chain the decision joins: `decisionMetadata(cause, agent)` for a decision an event caused. */
  readonly metadata: CommitMetadata
  /** A caller-chosen event id (a UUID derived from the command, say), so that a retried record deduplicates. */
  readonly eventId?: string
  /** The earlier decision whose output this one reuses without a model call (a cache hit). */
  readonly reusedDecisionId?: string
  /** The model call this decision shared with others (a batch). */
  readonly batch?: DecisionBatch
}

/**
 * The metadata of a decision an event caused: it joins the event's correlation, names the event
 * as its cause and keeps its trace, and the agent is the actor.
 */
export const decisionMetadata = (cause: EventEnvelope, agent: string): CommitMetadata => ({
  correlationId: cause.correlationId,
  causationId: cause.eventId,
  actor: { kind: "agent", id: agent },
  ...(cause.trace === undefined ? {} : { trace: cause.trace }),
})

/** A recorded decision and where it sits in the log. */
export interface RecordedDecision {
  readonly event: EventOf<typeof DecisionRecorded>
  readonly stream: string
  readonly sequence: number
  /** The same event was already stored (a retry); nothing was written twice. */
  readonly duplicate: boolean
  /** Objects this record wrote; content already in the store is not written again. */
  readonly objectsWritten: number
}

/** A decision read back from the log with its content resolved. */
export interface LoadedDecision {
  readonly event: EventOf<typeof DecisionRecorded>
  readonly invocation: SkillInvocation
}

/** Records skill invocations in the log and reads them back for replay. */
export interface DecisionRecorderShape {
  readonly namespace: string
  /** The object store bucket holding content recorded by reference. */
  readonly bucket: string
  readonly policy: DecisionContentPolicy
  /**
   * Stores large content once by hash, then appends `DecisionRecorded` to
   * `<ns>.decisions.<agent>.<decisionId>`; another decision under the same id is refused
   * (`AlreadyRecorded`). A reaction records through `decideOnce`, which keys, records and reads back.
   */
  readonly record: (request: RecordDecisionRequest) => Effect.Effect<RecordedDecision, DecisionError>
  /** Reads a decision back, fetching and checking every piece of content recorded by reference. */
  readonly load: (agent: string, decisionId: string) => Effect.Effect<LoadedDecision, DecisionError>
  /**
   * The decision the namespace's decision cache holds under `key` (see `decisionCacheKey`), or
   * null: never recorded, or aged out of the bounded bucket.
   */
  readonly cached: (key: string) => Effect.Effect<string | null, DecisionError>
  /** Files a recorded decision under `key` in the decision cache, for later decisions on the same input. */
  readonly remember: (key: string, decisionId: string) => Effect.Effect<void, DecisionError>
  /** Replays a recorded decision through the skill without calling any model. */
  readonly replay: <I, O>(
    skill: Skill<I, O>,
    agent: string,
    decisionId: string,
  ) => Effect.Effect<SkillRun<O>, DecisionError | SkillReplayError>
}

/** Settings of the decision recorder. */
export interface DecisionRecorderOptions {
  readonly namespace: string
  /** Inline, by reference above a size, or hash only, for prompts and for outputs (default: by reference above 1 KiB). */
  readonly policy?: DecisionContentPolicy
  /** Replicas of the object store's stream (1 for a single server, 3 in production). */
  readonly replicas?: number
}

const decisionCatalog = makeCatalog(decisionEvents)
const checkToken = Schema.decodeUnknownResult(SubjectToken)
const checkDecisionId = Schema.decodeUnknownResult(DecisionId)

/** `SHA-256=<base64>` as the object store writes an object's digest, read back as hex. */
const digestHex = (digest: string): string =>
  digest.startsWith("SHA-256=") ? Buffer.from(digest.slice(8), "base64").toString("hex") : ""

const logFailure = (operation: string, agent: string, decisionId: string) => (error: EventLogError) => {
  switch (error.reason._tag) {
    case "ConcurrencyConflict":
      return new DecisionError({ reason: { _tag: "AlreadyRecorded", agent, decisionId } })
    case "InvalidEvent":
      return new DecisionError({ reason: { _tag: "InvalidDecision", message: error.message } })
    case "UndecodableMessage":
      return new DecisionError({ reason: { _tag: "InvalidRecord", message: error.message } })
    case "TopologyDrift":
    case "UnsupportedServer":
    case "Unavailable":
      return new DecisionError({ reason: { _tag: "Unavailable", operation, message: error.message } })
  }
}

/** A decision recorder on an open NATS connection; opens (or creates) the namespace's content bucket. */
export const makeDecisionRecorder = (nats: NatsHandles, options: DecisionRecorderOptions) =>
  Effect.gen(function* () {
    const { namespace } = options
    const policy = options.policy ?? defaultContentPolicy
    const bucket = Subjects.decisionContentBucket(namespace)
    const log = makeEventLog({ nats, catalog: decisionCatalog, namespace })
    const objects: ObjectStore = yield* Effect.tryPromise({
      try: () =>
        new Objm(nats.js).create(bucket, { storage: StorageType.File, replicas: options.replicas ?? 1 }),
      catch: unavailable(`open object store ${bucket}`),
    })

    /** Writes an object unless one with the same hash and digest is there already: content is stored once. */
    const storeOnce = (content: ContentToStore) =>
      Effect.gen(function* () {
        const info = yield* Effect.tryPromise({
          try: () => objects.info(content.sha256),
          catch: unavailable(`look up ${content.sha256} in ${bucket}`),
        })
        // An object under the name whose digest differs (a botched write) is replaced, not trusted.
        // Two writers racing on the same new content both write it; the store keeps one object.
        if (info !== null && !info.deleted && digestHex(info.digest) === content.sha256) return 0
        yield* Effect.tryPromise({
          try: () => objects.putBlob({ name: content.sha256 }, content.bytes),
          catch: unavailable(`store ${content.sha256} in ${bucket}`),
        })
        return 1
      })

    const fetch = (sha256: string) =>
      Effect.tryPromise({
        try: () => objects.getBlob(sha256),
        catch: (cause) =>
          new DecisionError({
            reason: {
              _tag: "ContentUnreadable",
              sha256,
              message: cause instanceof Error ? cause.message : String(cause),
            },
          }),
      }).pipe(Effect.map((bytes) => [sha256, bytes] as const))

    const checkAddress = (agent: string, decisionId: string) =>
      Result.isFailure(checkToken(agent))
        ? fail({ _tag: "InvalidDecision", message: `agent ${JSON.stringify(agent)} is not a subject token` })
        : Result.isFailure(checkDecisionId(decisionId))
          ? fail({
              _tag: "InvalidDecision",
              message: `decision id ${JSON.stringify(decisionId)} is not a subject token`,
            })
          : Effect.void

    const record = Effect.fn("DecisionRecorder.record")(function* (request: RecordDecisionRequest) {
      const { agent, decisionId } = request
      yield* checkAddress(agent, decisionId)
      const decidedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
      const { payload, contents } = decisionPayload(
        {
          decisionId,
          agent,
          invocation: request.invocation,
          retrieved: request.retrieved ?? [],
          decidedAt,
          ...(request.reusedDecisionId === undefined ? {} : { reusedDecisionId: request.reusedDecisionId }),
          ...(request.batch === undefined ? {} : { batch: request.batch }),
        },
        policy,
      )
      // Content first: an event in the log never references an object that is not there yet.
      const written = yield* Effect.forEach(contents, storeOnce, { concurrency: 4 })
      const appended = yield* log
        .append({
          aggregate: { domain: "decisions", type: agent, id: decisionId },
          expected: initialPosition,
          events: [
            {
              type: "DecisionRecorded",
              payload,
              ...(request.eventId === undefined ? {} : { eventId: request.eventId }),
            },
          ],
          metadata: request.metadata,
        })
        .pipe(Effect.mapError(logFailure(`record decision ${decisionId}`, agent, decisionId)))
      const event = appended.events[0]!
      return {
        event,
        stream: appended.stream,
        sequence: appended.position.sequence,
        duplicate: appended.duplicate,
        objectsWritten: written.reduce((a: number, b: number) => a + b, 0),
      } satisfies RecordedDecision
    })

    const load = Effect.fn("DecisionRecorder.load")(function* (agent: string, decisionId: string) {
      yield* checkAddress(agent, decisionId)
      const loaded = yield* log
        .load({ domain: "decisions", type: agent, id: decisionId })
        .pipe(Effect.mapError(logFailure(`load decision ${decisionId}`, agent, decisionId)))
      const event = loaded.events.find((e) => e.type === "DecisionRecorded")
      if (event === undefined) return yield* fail({ _tag: "DecisionNotFound", agent, decisionId })
      const payload: DecisionPayload = event.payload
      const stored = new Map(yield* Effect.forEach(storedHashes(payload), fetch, { concurrency: 4 }))
      const invocation = invocationFromPayload(payload, stored)
      if (Result.isFailure(invocation)) return yield* fail(invocation.failure)
      return { event, invocation: invocation.success } satisfies LoadedDecision
    })

    const replay = <I, O>(skill: Skill<I, O>, agent: string, decisionId: string) =>
      load(agent, decisionId).pipe(
        Effect.flatMap((loaded) => replaySkill(skill, loaded.invocation)),
        Effect.withSpan("DecisionRecorder.replay"),
      )

    // The cache bucket is opened on first use: most agents never reuse decisions. Created with the
    // topology's bounds, so that an agent started before `mesh streams` finds the same bucket.
    const cacheBucket = Subjects.decisionCacheBucket(namespace)
    const cache = yield* Effect.cached(
      Effect.tryPromise({
        try: () =>
          new Kvm(nats.js).create(cacheBucket, {
            history: 1,
            replicas: options.replicas ?? 1,
            storage: StorageType.File,
            ttl: decisionCacheLimits.ttlMs,
            max_bytes: decisionCacheLimits.maxBytes,
          }),
        catch: unavailable(`open KV bucket ${cacheBucket}`),
      }),
    )

    const cached = Effect.fn("DecisionRecorder.cached")(function* (key: string) {
      const kv = yield* cache
      const entry = yield* Effect.tryPromise({
        try: () => kv.get(key),
        catch: unavailable(`read ${key} from ${cacheBucket}`),
      })
      if (entry === null || entry.operation !== "PUT") return null
      const decisionId = entry.string()
      return Result.isSuccess(checkDecisionId(decisionId)) ? decisionId : null
    })

    const remember = Effect.fn("DecisionRecorder.remember")(function* (key: string, decisionId: string) {
      const kv = yield* cache
      yield* Effect.tryPromise({
        try: () => kv.put(key, decisionId),
        catch: unavailable(`write ${key} to ${cacheBucket}`),
      })
    })

    return DecisionRecorder.of({ namespace, bucket, policy, record, load, cached, remember, replay })
  })

/** Records every skill invocation in the log, with large content stored once by hash; replays them without a model. */
export class DecisionRecorder extends Context.Service<DecisionRecorder, DecisionRecorderShape>()(
  "DecisionRecorder",
) {
  /** A recorder for `options.namespace` on the process's NATS connection. */
  static readonly layer = (
    options: DecisionRecorderOptions,
  ): Layer.Layer<DecisionRecorder, DecisionError, NatsClient> =>
    Layer.effect(
      DecisionRecorder,
      Effect.gen(function* () {
        return yield* makeDecisionRecorder(yield* NatsClient, options)
      }),
    )

  /** A recorder whose content policy comes from MESH_DECISION_PROMPTS and MESH_DECISION_OUTPUTS. */
  static readonly layerConfig = (
    options: Omit<DecisionRecorderOptions, "policy">,
  ): Layer.Layer<DecisionRecorder, DecisionError | Config.ConfigError, NatsClient> =>
    Layer.effect(
      DecisionRecorder,
      Effect.gen(function* () {
        const policy = yield* decisionContentPolicyConfig
        return yield* makeDecisionRecorder(yield* NatsClient, { ...options, policy })
      }),
    )

  /**
   * The recorder of the process's namespace (its content store with the namespace's replicas), on
   * its NATS connection, with the content policy from the environment.
   */
  static readonly layerFromConfig: Layer.Layer<
    DecisionRecorder,
    DecisionError | Config.ConfigError,
    NatsClient | MeshNamespace
  > = Layer.unwrap(
    Effect.gen(function* () {
      const { name, replicas } = yield* MeshNamespace
      return DecisionRecorder.layerConfig({ namespace: name, replicas })
    }),
  )
}
