import { type Domain, domains, Subjects } from "@mesh/contracts"
import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { Objm } from "@nats-io/obj"
import { Effect } from "effect"
import { EventLogError, unavailable } from "./errors.ts"

const nanosPerSecond = 1_000_000_000

/** The part of a stream's configuration that the mesh declares and checks for drift. */
export interface StreamDeclaration {
  readonly name: string
  readonly subjects: ReadonlyArray<string>
  readonly storage: "file" | "memory"
  readonly num_replicas: number
  readonly retention: "limits"
  readonly discard: "old" | "new"
  readonly max_age: number
  readonly duplicate_window: number
  readonly deny_delete: boolean
  readonly deny_purge: boolean
  readonly allow_rollup_hdrs: boolean
  readonly allow_direct: boolean
  /** Streams whose messages this one copies in (the registers stream sources the register bucket). */
  readonly sources?: ReadonlyArray<string>
}

/**
 * A KV bucket or an object store of a namespace. JetStream keeps each in a stream of its own
 * (`KV_<bucket>`, `OBJ_<bucket>`) whose exact configuration its client library owns; the mesh
 * creates it through that library and checks the fields it declares: replicas, storage, history.
 */
export interface StoreDeclaration {
  readonly kind: "kv" | "objects"
  readonly bucket: string
  /** The stream JetStream keeps it in, by which drift is reported. */
  readonly name: string
  readonly storage: "file" | "memory"
  readonly num_replicas: number
  /** Values kept per key (KV buckets). */
  readonly history?: number
  /** How long a value lives, in milliseconds (KV buckets; absent: for ever). */
  readonly ttlMs?: number
  /** The most bytes kept; the oldest values go first (absent: no limit). */
  readonly maxBytes?: number
}

/** A declared stream or store of a namespace. */
export type Declaration = StreamDeclaration | StoreDeclaration

const isStore = (declaration: Declaration): declaration is StoreDeclaration => "kind" in declaration

/** Options that shape a namespace's streams. */
export interface TopologyOptions {
  readonly namespace: string
  /** 1 for a single server, 3 in production. */
  readonly replicas?: number
  /**
   * How long JetStream remembers a message id for deduplication. Appends are also protected by
   * the per-aggregate expected sequence, so a retry after the window is still caught.
   */
  readonly duplicateWindowSeconds?: number
  readonly storage?: "file" | "memory"
}

/**
 * Declares the streams of a namespace: one immutable event stream per domain (deny delete and
 * purge: the log is the source of truth), one dead-letter stream (purgeable: operators drain it
 * after re-driving), and its stores: the register bucket, the snapshot bucket, the decision cache
 * (bounded in age and size) and the decision-content object store, with the same replicas as the streams, so that none is left on
 * one server. The registers stream sources the register bucket, which keeps every value, so that
 * it holds every change for history, replay and the resolver, beside the conflicts recorded there.
 */
export const declareTopology = (options: TopologyOptions): ReadonlyArray<Declaration> => {
  const base = {
    storage: options.storage ?? "file",
    num_replicas: options.replicas ?? 1,
    retention: "limits" as const,
    discard: "old" as const,
    max_age: 0,
    duplicate_window: (options.duplicateWindowSeconds ?? 120) * nanosPerSecond,
    allow_rollup_hdrs: false,
    allow_direct: true,
  }
  const registers = Subjects.registerBucket(options.namespace)
  const eventStreams = domains.map(
    (domain: Domain): StreamDeclaration => ({
      ...base,
      name: Subjects.streamName(options.namespace, domain),
      subjects: [Subjects.domainWildcard(options.namespace, domain)],
      deny_delete: true,
      deny_purge: true,
      ...(domain === "registers" ? { sources: [`KV_${registers}`] } : {}),
    }),
  )
  const deadLetters: StreamDeclaration = {
    ...base,
    name: Subjects.deadLetterStream(options.namespace),
    subjects: [Subjects.deadLetterWildcard(options.namespace)],
    deny_delete: true,
    deny_purge: false,
  }
  const storage = options.storage ?? "file"
  const num_replicas = options.replicas ?? 1
  const snapshots = Subjects.snapshotBucket(options.namespace)
  const content = Subjects.decisionContentBucket(options.namespace)
  const decisionCache = Subjects.decisionCacheBucket(options.namespace)
  const stores: ReadonlyArray<StoreDeclaration> = [
    {
      kind: "kv",
      bucket: registers,
      name: `KV_${registers}`,
      storage,
      num_replicas,
      history: registerBucketHistory,
    },
    { kind: "kv", bucket: snapshots, name: `KV_${snapshots}`, storage, num_replicas, history: 1 },
    {
      kind: "kv",
      bucket: decisionCache,
      name: `KV_${decisionCache}`,
      storage,
      num_replicas,
      history: 1,
      ...decisionCacheLimits,
    },
    { kind: "objects", bucket: content, name: `OBJ_${content}`, storage, num_replicas },
  ]
  // A stream may source one that does not exist yet: the server starts copying once it does.
  return [...eventStreams, deadLetters, ...stores]
}

/**
 * The bounds of the decision cache, an index that may forget: a forgotten entry costs one model
 * call. Thirty days keeps a catalogue's repeated drafts; 64 MiB holds about 300,000 entries of
 * some 200 bytes, the oldest dropped first.
 */
export const decisionCacheLimits = { ttlMs: 30 * 24 * 3_600_000, maxBytes: 64 * 1024 * 1024 } as const

/**
 * Values the register bucket keeps per key: all of them (-1). The bucket's stream is the registers'
 * log: the registers stream sources it, and a peer site's bucket sources it, so a burst of writes
 * to one key trimmed before they were copied would be missing from history and from the peer.
 */
export const registerBucketHistory = -1

/** Lists the fields of a store that differ from its declaration. */
export const diffStore = (
  declared: StoreDeclaration,
  actual: Partial<StreamConfig>,
): ReadonlyArray<FieldDrift> => {
  const pairs: ReadonlyArray<readonly [string, unknown, unknown]> = [
    ["storage", declared.storage, actual.storage],
    ["num_replicas", declared.num_replicas, actual.num_replicas],
    ...(declared.history === undefined
      ? []
      : [["history", declared.history, actual.max_msgs_per_subject] as const]),
    ...(declared.ttlMs === undefined
      ? []
      : [["max_age", declared.ttlMs * 1_000_000, actual.max_age] as const]),
    ...(declared.maxBytes === undefined ? [] : [["max_bytes", declared.maxBytes, actual.max_bytes] as const]),
  ]
  return pairs.flatMap(([field, d, a]) =>
    JSON.stringify(d) === JSON.stringify(a)
      ? []
      : [{ field: field as FieldDrift["field"], declared: d, actual: a }],
  )
}

const createStore = async (jsm: JetStreamManager, store: StoreDeclaration): Promise<void> => {
  const storage = store.storage === "file" ? StorageType.File : StorageType.Memory
  if (store.kind === "kv") {
    await new Kvm(jsm.jetstream()).create(store.bucket, {
      history: store.history ?? 1,
      replicas: store.num_replicas,
      storage,
      ...(store.ttlMs === undefined ? {} : { ttl: store.ttlMs }),
      ...(store.maxBytes === undefined ? {} : { max_bytes: store.maxBytes }),
    })
  } else {
    await new Objm(jsm.jetstream()).create(store.bucket, { replicas: store.num_replicas, storage })
  }
}

/** One field whose declared and actual values differ. */
export interface FieldDrift {
  readonly field: keyof StreamDeclaration | "history" | "max_bytes"
  readonly declared: unknown
  readonly actual: unknown
}

/** What applying a topology did, stream by stream. */
export interface TopologyReport {
  readonly created: ReadonlyArray<string>
  readonly unchanged: ReadonlyArray<string>
  readonly updated: ReadonlyArray<string>
  readonly drifted: ReadonlyArray<{ readonly stream: string; readonly fields: ReadonlyArray<FieldDrift> }>
}

const comparedFields: ReadonlyArray<keyof StreamDeclaration> = [
  "subjects",
  "storage",
  "num_replicas",
  "retention",
  "discard",
  "max_age",
  "duplicate_window",
  "deny_delete",
  "deny_purge",
  "allow_rollup_hdrs",
  "allow_direct",
  "sources",
]

const normalise = (value: unknown): unknown =>
  Array.isArray(value)
    ? value
        .map((item) => (typeof item === "object" && item !== null && "name" in item ? item.name : item))
        .sort()
    : value === undefined
      ? false
      : value

// A stream without sources reports none; one declared without them must compare equal to that.
const declaredValue = (declared: StreamDeclaration, field: keyof StreamDeclaration): unknown =>
  field === "sources" ? (declared.sources ?? []) : declared[field]

/** Lists the fields of a stream that differ from its declaration. */
export const diffStream = (
  declared: StreamDeclaration,
  actual: Partial<StreamConfig>,
): ReadonlyArray<FieldDrift> =>
  comparedFields.flatMap((field) => {
    const raw = (actual as Record<string, unknown>)[field]
    const a = normalise(field === "sources" ? (raw ?? []) : raw)
    const d = normalise(declaredValue(declared, field))
    return JSON.stringify(a) === JSON.stringify(d)
      ? []
      : [{ field, declared: declaredValue(declared, field), actual: a }]
  })

const toStreamConfig = (d: StreamDeclaration): Partial<StreamConfig> & { name: string } => ({
  name: d.name,
  subjects: [...d.subjects],
  storage: d.storage === "file" ? StorageType.File : StorageType.Memory,
  num_replicas: d.num_replicas,
  retention: RetentionPolicy.Limits,
  discard: d.discard === "old" ? DiscardPolicy.Old : DiscardPolicy.New,
  max_age: d.max_age,
  duplicate_window: d.duplicate_window,
  deny_delete: d.deny_delete,
  deny_purge: d.deny_purge,
  allow_rollup_hdrs: d.allow_rollup_hdrs,
  allow_direct: d.allow_direct,
  ...(d.sources === undefined ? {} : { sources: d.sources.map((name) => ({ name })) }),
})

const isNameInUse = (e: unknown): boolean => e instanceof Error && /name already in use/i.test(e.message)

const isStreamNotFound = (e: unknown): boolean =>
  e instanceof Error && (e.name === "StreamNotFoundError" || /stream not found/i.test(e.message))

/** The server a JetStream manager talks to, as it said when it connected ("2.10.27"); undefined when unknown. */
const serverVersionOf = (jsm: JetStreamManager): string | undefined =>
  (jsm as unknown as { readonly nc?: { readonly info?: { readonly version?: string } } }).nc?.info?.version

/** True for a version below `major.minor` ("2.9.10" against 2.10); false when it cannot be read. */
export const isServerOlderThan = (version: string, major: number, minor: number): boolean => {
  const match = /^v?(\d+)\.(\d+)/.exec(version)
  if (match === null) return false
  const [found, foundMinor] = [Number(match[1]), Number(match[2])]
  return found < major || (found === major && foundMinor < minor)
}

/**
 * Why a stream source cannot be trusted on this server: before 2.10 a server re-checks the
 * compare-and-set header of each copied message (a register write's expected last sequence of its
 * key) against the stream it copies into. The registers stream also holds events appended to it
 * directly, so from the first of those on its sequences differ from the bucket's, every copied
 * update fails that check, and the copies stop: the log loses register history without a word.
 */
const sourcesUnsupported = (version: string) =>
  new EventLogError({
    reason: {
      _tag: "UnsupportedServer",
      version,
      message:
        "the registers stream copies the register bucket (a stream source), and before 2.10 the server re-checks each copied write's compare-and-set header against the registers stream, so the copies stop at the first event appended there and register history goes missing from the log. Run nats-server 2.10 or later: on Debian bookworm, this repository's `.ci/run` installs trixie's package with an apt pin (see its first steps); elsewhere, a release from nats.io",
    },
  })

/**
 * Applies declared streams idempotently. Missing streams are created; a stream that drifted from
 * its declaration is reported and left alone unless `mode` is "update", because silently
 * rewriting a production stream's limits can drop history.
 */
export const applyTopology = (
  jsm: JetStreamManager,
  declarations: ReadonlyArray<Declaration>,
  mode: "create-only" | "update" = "create-only",
): Effect.Effect<TopologyReport, EventLogError> =>
  Effect.gen(function* () {
    const version = serverVersionOf(jsm)
    if (
      version !== undefined &&
      isServerOlderThan(version, 2, 10) &&
      declarations.some((d) => !isStore(d) && (d.sources?.length ?? 0) > 0)
    )
      return yield* Effect.fail(sourcesUnsupported(version))
    const created: Array<string> = []
    const unchanged: Array<string> = []
    const updated: Array<string> = []
    const drifted: Array<{ stream: string; fields: ReadonlyArray<FieldDrift> }> = []
    for (const declaration of declarations) {
      const infoOf = Effect.tryPromise({
        try: () =>
          jsm.streams
            .info(declaration.name)
            .catch((e) => (isStreamNotFound(e) ? undefined : Promise.reject(e))),
        catch: (e) => unavailable(`stream info ${declaration.name}`, e),
      })
      let info = yield* infoOf
      if (info === undefined) {
        // Replicas starting together race to create: the loser finds the winner's stream and
        // compares it with its declaration like any existing one.
        const lost = yield* Effect.tryPromise({
          try: async () => {
            try {
              if (isStore(declaration)) await createStore(jsm, declaration)
              else await jsm.streams.add(toStreamConfig(declaration))
              return false
            } catch (e) {
              if (isNameInUse(e)) return true
              throw e
            }
          },
          catch: (e) =>
            unavailable(`create ${isStore(declaration) ? "store" : "stream"} ${declaration.name}`, e),
        })
        if (!lost) {
          created.push(declaration.name)
          continue
        }
        info = yield* infoOf
        if (info === undefined)
          return yield* Effect.fail(
            unavailable(
              `create stream ${declaration.name}`,
              new Error("created by another process, then gone"),
            ),
          )
      }
      const fields = isStore(declaration)
        ? diffStore(declaration, info.config)
        : diffStream(declaration, info.config)
      if (fields.length === 0) {
        unchanged.push(declaration.name)
      } else if (mode === "update") {
        yield* Effect.tryPromise({
          try: () =>
            jsm.streams.update(
              declaration.name,
              isStore(declaration)
                ? {
                    ...info.config,
                    num_replicas: declaration.num_replicas,
                    ...(declaration.history === undefined
                      ? {}
                      : { max_msgs_per_subject: declaration.history }),
                    ...(declaration.ttlMs === undefined ? {} : { max_age: declaration.ttlMs * 1_000_000 }),
                    ...(declaration.maxBytes === undefined ? {} : { max_bytes: declaration.maxBytes }),
                  }
                : toStreamConfig(declaration),
            ),
          catch: (e) => unavailable(`update stream ${declaration.name}`, e),
        })
        updated.push(declaration.name)
      } else {
        yield* Effect.logWarning(
          `stream ${declaration.name} drifted from its declaration: ${fields
            .map(
              (f) => `${f.field} declared ${JSON.stringify(f.declared)} actual ${JSON.stringify(f.actual)}`,
            )
            .join("; ")}`,
        )
        drifted.push({ stream: declaration.name, fields })
      }
    }
    return { created, unchanged, updated, drifted }
  })

/** Fails with `TopologyDrift` when a report holds drift; for callers that must not run on a drifted log. */
export const requireNoDrift = (report: TopologyReport): Effect.Effect<TopologyReport, EventLogError> => {
  const first = report.drifted[0]
  return first === undefined
    ? Effect.succeed(report)
    : Effect.fail(
        new EventLogError({
          reason: { _tag: "TopologyDrift", stream: first.stream, fields: first.fields.map((f) => f.field) },
        }),
      )
}

/**
 * Deletes the declared streams and stores that exist, with everything in them: for a namespace
 * that was only ever a scratch space (a demo's day that was not kept). Returns the names deleted.
 * The streams deny deleting their messages, not themselves; a production namespace is never
 * removed by the mesh, only by an operator.
 */
export const removeTopology = (
  jsm: JetStreamManager,
  declarations: ReadonlyArray<Declaration>,
): Effect.Effect<ReadonlyArray<string>, EventLogError> =>
  Effect.gen(function* () {
    const deleted: Array<string> = []
    for (const declaration of declarations) {
      const existed = yield* Effect.tryPromise({
        try: () =>
          jsm.streams
            .delete(declaration.name)
            .catch((e) => (isStreamNotFound(e) ? false : Promise.reject(e))),
        catch: (e) => unavailable(`delete stream ${declaration.name}`, e),
      })
      if (existed) deleted.push(declaration.name)
    }
    return deleted
  })
