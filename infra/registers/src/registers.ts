import { createHash } from "node:crypto"
import { hostname } from "node:os"
import {
  type Actor,
  applyWrite,
  assertSubjectToken,
  canonicalJson,
  compareVersionVectors,
  decodeCommit,
  describeRejection,
  type EventOf,
  emptySnapshot,
  encodeCommit,
  type Hlc,
  makeCatalog,
  maxHlc,
  mergeSnapshots,
  type RawEnvelope,
  RegisterChanged,
  type RegisterDefinition,
  type RegisterKind,
  type RegisterSnapshot,
  receiveHlc,
  registerIdempotencyWindow,
  Subjects,
  type TraceContext,
  type VersionVector,
  type WriterId,
  writerId,
  zeroHlc,
} from "@mesh/contracts"
import {
  CurrentReactionCause,
  currentTraceContext,
  MeshNamespace,
  messageOf,
  NatsClient,
  type NatsHandles,
  type ReactionCause,
  registerBucketHistory,
  type StoreWriteDeparture,
} from "@mesh/eventlog"
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream"
import { type KV, type KvEntry, Kvm, KvWatchInclude } from "@nats-io/kv"
import { Config, Context, Effect, Layer, Option, Result, Schema, type Scope, Stream } from "effect"
import { v7 as uuidv7 } from "uuid"
import { RegisterError, registerUnavailable } from "./registerError.ts"
import { readStoredMessages, type StoredMessage } from "./storedMessages.ts"

/** A register change as the log holds it. */
export type RegisterChangedEvent = EventOf<typeof RegisterChanged>

// The bucket holds only register changes; conflicts live in the registers stream as events of their own.
const registerCatalog = makeCatalog([RegisterChanged])

/** Who writes, and where: the process's identity in every write's causal context. */
export interface RegistersOptions {
  readonly namespace: string
  /** The agent writing; it must be among a register's declared writers. */
  readonly agent: string
  /** This process's site (default "main"); it writes only its own key of each register. */
  readonly site?: string
  /** The other sites whose keys replicate into this site's bucket; a read merges all of them. */
  readonly peerSites?: ReadonlyArray<string>
  /** This process among the agent's replicas (default: the host name, a pod's name in Kubernetes). */
  readonly instance?: string
  /** Replicas of the bucket when this creates it (a topology declares it otherwise). */
  readonly replicas?: number
  /** Compare-and-set attempts before a write gives up as `Contended` (default 200). */
  readonly maxAttempts?: number
  /** Wall time in milliseconds (tests pass a clock that jumps). */
  readonly now?: () => number
}

/** One site's key of a register instance. */
export interface SiteValue<S> {
  readonly site: string
  /** The key's KV revision (its sequence in the bucket's stream); 0 when the site never wrote it. */
  readonly revision: number
  /** Writes to this key: the `version` of its last change. */
  readonly version: number
  readonly snapshot: RegisterSnapshot<S>
  /** The change that wrote it. */
  readonly change?: RegisterChangedEvent
  /** The idempotency keys of its latest writes (see `registerIdempotencyWindow`). */
  readonly recentKeys?: ReadonlyArray<string>
}

/** A stored value of a site key, with the change that stored it. */
type StoredValue<S> = SiteValue<S> & { readonly change: RegisterChangedEvent }

/**
 * One value of an instance's key as the bucket's stream stored it: the value, or a deletion (no
 * value), or a value this code cannot decode (kept with why, for the read that lands on it).
 */
interface StoredEntry<S> {
  readonly site: string
  /** When the server stored it, epoch ms. */
  readonly storedAt: number
  readonly value?: StoredValue<S>
  readonly undecodable?: RegisterError
}

/** Instances whose values a replaying process keeps between reads. */
const replayedInstancesKept = 4_096

/** A register instance as this site sees it: every site's key, and their merge. */
export interface RegisterReading<S, V> {
  readonly register: string
  readonly id: string
  /** What readers use: the merged value. */
  readonly value: V
  readonly snapshot: RegisterSnapshot<S>
  readonly sites: ReadonlyArray<SiteValue<S>>
  /** Two sites hold writes the other has not seen: the resolver has a merge to record. */
  readonly concurrent: boolean
  /** Concurrent values no merge rule settles (siblings, a reservation taken twice). */
  readonly unresolved: ReadonlyArray<unknown>
}

/** The causal chain a write joins, and what its writer had seen. */
export interface WriteOptions {
  /**
   * The context of the read the writer decided on, when that read is older than the write (a
   * lagging read model, a read before a slow model call). Writes it did not see are recorded as
   * concurrent with it.
   */
  readonly observed?: VersionVector
  readonly correlationId?: string
  readonly causationId?: string | null
  readonly actor?: Actor
  /**
   * Makes the write apply once: a write whose key this site's value remembers is not applied
   * again. By default, a write caused by an event is keyed by that event and the operation, so a
   * redelivered reaction writes once; `null` turns it off.
   */
  readonly idempotencyKey?: string | null
}

/** What a write stored. */
export interface WriteOutcome<S, V> {
  readonly value: V
  readonly snapshot: RegisterSnapshot<S>
  readonly revision: number
  /** Compare-and-set attempts: 1 unless another writer got in first. */
  readonly attempts: number
  readonly change: RegisterChangedEvent
  /** The write had been applied already (its idempotency key was remembered): nothing was written. */
  readonly duplicate: boolean
}

/** The shared registers, as one agent instance at one site reads and writes them. */
export interface RegistersShape {
  readonly site: string
  /** The sites whose keys replicate into this site's bucket. */
  readonly peers: ReadonlyArray<string>
  readonly writer: WriterId
  readonly bucket: string
  readonly read: <S, O, V>(
    register: RegisterDefinition<S, O, V>,
    id: string,
  ) => Effect.Effect<RegisterReading<S, V>, RegisterError>
  /**
   * Applies an operation to this site's key: the op is applied to the merge of every site's value
   * and written with compare-and-set on the key's revision; a writer that loses re-reads, applies
   * its op to the newer value and tries again, so no write is lost.
   */
  readonly write: <S, O, V>(
    register: RegisterDefinition<S, O, V>,
    id: string,
    op: NoInfer<O>,
    options?: WriteOptions,
  ) => Effect.Effect<WriteOutcome<S, V>, RegisterError>
  /**
   * Joins the sites' values of an instance when some hold writes the others have not seen, and
   * stores the join in this site's key as a `Merge` change naming the inputs and the rule: a
   * context covering all of them, and no new write, so two resolvers merging the same inputs at two
   * sites store equal values that are not in conflict again. Undefined when there was nothing to merge.
   */
  readonly merge: <S, O, V>(
    register: RegisterDefinition<S, O, V>,
    id: string,
    options?: WriteOptions & { readonly rule?: string },
  ) => Effect.Effect<WriteOutcome<S, V> | undefined, RegisterError>
  /** Every change of an instance at every site, oldest first, from the registers stream. */
  readonly history: (
    register: string,
    id: string,
  ) => Effect.Effect<ReadonlyArray<RegisterChangedEvent>, RegisterError>
  /** The register instances that have a value here: `{ register, id, sites }`. */
  readonly list: (
    register?: string,
  ) => Effect.Effect<
    ReadonlyArray<{ readonly register: string; readonly id: string; readonly sites: ReadonlyArray<string> }>,
    RegisterError
  >
  /** Changes as they land in this site's bucket (own writes and replicated ones), from now on. */
  readonly watch: (register?: string) => Stream.Stream<RegisterChangedEvent, RegisterError>
  /**
   * The same, watching from the moment this effect completes (the watcher lives as long as the
   * scope), so that a caller can start watching, then sweep, and miss nothing in between.
   */
  readonly subscribe: (
    register?: string,
  ) => Effect.Effect<Stream.Stream<RegisterChangedEvent, RegisterError>, RegisterError, Scope.Scope>
}

const isWrongLastSequence = (e: unknown): boolean =>
  e instanceof JetStreamApiError &&
  (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
    e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

/** A host name as a subject token: letters, digits, '-' and '_' only. */
const instanceFromHost = (): string =>
  hostname()
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .slice(0, 128) || "instance"

const fail = (reason: RegisterError["reason"]) => Effect.fail(new RegisterError({ reason }))

// uuid draws 16 random bytes from the system for each id, a fifth of a write's CPU when measured;
// one draw fills 256 ids.
const randomPool = new Uint8Array(16 * 256)
let randomOffset = randomPool.length
const randomForId = (): Uint8Array => {
  if (randomOffset === randomPool.length) {
    crypto.getRandomValues(randomPool)
    randomOffset = 0
  }
  randomOffset += 16
  return randomPool.subarray(randomOffset - 16, randomOffset)
}

interface KindCodec {
  readonly encodeState: (state: unknown) => unknown
  readonly decodeState: (encoded: unknown) => Result.Result<unknown, Schema.SchemaError>
  readonly encodeOp: (op: unknown) => unknown
}

// Schema codecs are built once per register kind, not on every write.
const codecs = new WeakMap<RegisterKind<never, never, unknown>, KindCodec>()
const codecOf = <S, O, V>(kind: RegisterKind<S, O, V>): KindCodec => {
  const key = kind as unknown as RegisterKind<never, never, unknown>
  let codec = codecs.get(key)
  if (codec === undefined) {
    codec = {
      encodeState: Schema.encodeUnknownSync(kind.state),
      decodeState: Schema.decodeUnknownResult(kind.state),
      encodeOp: Schema.encodeUnknownSync(kind.op),
    }
    codecs.set(key, codec)
  }
  return codec
}

const shownOp = (op: unknown): string => {
  const text = canonicalJson(op)
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}

/**
 * Whether a write a replayed reaction makes, which the recorded day has no change for under its
 * key, departs from the day, and how: `refusal` is why the registers refuse it now (null: they
 * would store it). Compared with the day's writes to the instance from the same cause, at any
 * site. A write with no cause cannot be matched to the day and is not judged.
 */
const replayedWriteDeparture = (
  register: string,
  id: string,
  op: unknown,
  idempotencyKey: string | undefined,
  causationId: string | null,
  values: ReadonlyArray<{
    readonly site: string
    readonly value?: { readonly change: RegisterChangedEvent } | undefined
  }>,
  refusal: string | null,
): StoreWriteDeparture | undefined => {
  if (causationId === null) return undefined
  const dayOps: Array<unknown> = []
  for (const { value } of values) {
    const change = value?.change
    if (change === undefined || change.causationId !== causationId) continue
    if (change.payload.change._tag === "Write") dayOps.push(change.payload.change.op)
  }
  const now = canonicalJson(op)
  // The day made this very operation from this cause (without a key, or under another one).
  if (dayOps.some((dayOp) => canonicalJson(dayOp) === now)) return undefined
  // Refused now, and nothing from this cause was stored then: as the day went, as far as it shows.
  if (refusal !== null && dayOps.length === 0) return undefined
  const recorded =
    dayOps.length === 0 ? "nothing (refused then, or not made)" : dayOps.map(shownOp).join(" and ")
  return {
    aggregate: `${register}/${id}`,
    writeId: idempotencyKey ?? `a write caused by ${causationId}`,
    recorded: dayOps.map(() => RegisterChanged.type),
    now: refusal === null ? [RegisterChanged.type] : null,
    difference:
      refusal === null
        ? `${register} write: recorded ${recorded}, now ${shownOp(op)}`
        : `${register} write: recorded ${recorded}, now ${shownOp(op)} refused (${refusal})`,
  }
}

/** Opens the registers of a namespace on an open connection. */
export const makeRegisters = (
  nats: NatsHandles,
  options: RegistersOptions,
): Effect.Effect<RegistersShape, RegisterError> =>
  Effect.gen(function* () {
    const namespace = options.namespace
    const bucket = Subjects.registerBucket(namespace)
    const site = assertSubjectToken("site", options.site ?? "main")
    const peers = (options.peerSites ?? []).map((peer) => assertSubjectToken("peer site", peer))
    if (peers.includes(site)) {
      return yield* Effect.die(new TypeError(`site ${site} is listed among its own peer sites`))
    }
    const agent = assertSubjectToken("agent", options.agent)
    const writer = writerId(
      site,
      agent,
      assertSubjectToken("instance", options.instance ?? instanceFromHost()),
    )
    const maxAttempts = options.maxAttempts ?? 200
    const now = options.now ?? Date.now
    const kv: KV = yield* Effect.tryPromise({
      try: async () => {
        const kvm = new Kvm(nats.connection)
        const declared = await nats.jsm.streams.info(`KV_${bucket}`).then(
          () => true,
          () => false,
        )
        // A topology declares the bucket with its replicas; a process without one (a test) makes it.
        return declared
          ? kvm.open(bucket)
          : kvm.create(bucket, { history: registerBucketHistory, replicas: options.replicas ?? 1 })
      },
      catch: (e) => registerUnavailable(`open register bucket ${bucket}`, e),
    })

    // The process's clock: after every reading it has seen, so its writes order after what it read.
    let clock: Hlc = zeroHlc
    const observe = (hlc: Hlc) => {
      clock = receiveHlc(clock, hlc, now())
    }
    // This site's last known key values, so that a writer that is not contended writes in one round trip.
    const ownKeys = new Map<string, SiteValue<unknown>>()

    const decodeEntry = <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      key: string,
      entry: Pick<KvEntry, "revision" | "value">,
    ): Result.Result<SiteValue<S> & { readonly change: RegisterChangedEvent }, RegisterError> => {
      const undecodable = (message: string) =>
        Result.fail(
          new RegisterError({ reason: { _tag: "UndecodableValue", key, revision: entry.revision, message } }),
        )
      const decoded = decodeCommit(registerCatalog, entry.value)
      if (Result.isFailure(decoded)) return undecodable(decoded.failure._tag)
      const change = decoded.success[0]
      if (change === undefined || decoded.success.length !== 1)
        return undecodable("expected one RegisterChanged")
      const p = change.payload
      if (p.register !== register.name || p.kind !== register.kind.kind) {
        return undecodable(
          `holds a ${p.kind} value of ${p.register}, not a ${register.kind.kind} of ${register.name}`,
        )
      }
      const state = codecOf(register.kind).decodeState(p.snapshot.state) as Result.Result<
        S,
        Schema.SchemaError
      >
      if (Result.isFailure(state)) return undecodable(String(state.failure))
      return Result.succeed({
        site: p.site,
        revision: entry.revision,
        version: p.version,
        recentKeys: p.recentKeys ?? [],
        snapshot: { state: state.success, context: p.snapshot.context, hlc: p.snapshot.hlc },
        change,
      })
    }

    // The write path is plain promises inside one Effect per call: measured, an Effect step per
    // read, encode and compare-and-set cost a write a third more CPU than the raw KV update. A
    // failure inside is thrown as a RegisterError and given back as the Effect's typed failure.
    const asRegisterError = (operation: string) => (e: unknown) =>
      e instanceof RegisterError ? e : registerUnavailable(operation, e)

    const readKeyNow = async <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      keySite: string,
    ): Promise<SiteValue<S>> => {
      const key = Subjects.registerKey(register.name, id, keySite)
      const entry = await kv.get(key).catch((e) => {
        throw registerUnavailable(`read register ${key}`, e)
      })
      if (entry === null || entry.operation !== "PUT") {
        return {
          site: keySite,
          revision: entry?.revision ?? 0,
          version: 0,
          snapshot: emptySnapshot(register.kind),
        }
      }
      const value = decodeEntry(register, key, entry)
      if (Result.isFailure(value)) throw value.failure
      observe(value.success.snapshot.hlc)
      return value.success as SiteValue<S>
    }

    const readKey = <S, O, V>(register: RegisterDefinition<S, O, V>, id: string, keySite: string) =>
      Effect.tryPromise({
        try: () => readKeyNow(register, id, keySite),
        catch: asRegisterError(`read register ${register.name}/${id}`),
      })

    const merged = <S, O, V>(register: RegisterDefinition<S, O, V>, values: ReadonlyArray<SiteValue<S>>) =>
      values.length === 1
        ? (values[0] as SiteValue<S>).snapshot
        : values.reduce(
            (acc, v) => mergeSnapshots(register.kind, acc, v.snapshot),
            emptySnapshot(register.kind),
          )

    const concurrentAmong = (values: ReadonlyArray<SiteValue<unknown>>): boolean =>
      values.some((a, i) =>
        values
          .slice(i + 1)
          .some((b) => compareVersionVectors(a.snapshot.context, b.snapshot.context) === "concurrent"),
      )

    const reading = <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      sites: ReadonlyArray<SiteValue<S>>,
    ): RegisterReading<S, V> => {
      const snapshot = merged(register, sites)
      return {
        register: register.name,
        id,
        value: register.kind.read(snapshot.state),
        snapshot,
        sites,
        concurrent: concurrentAmong(sites),
        unresolved: register.kind.unresolved(snapshot.state),
      }
    }

    const keyPrefix = (register: string, id: string) => Subjects.registerKey(register, id, "x").slice(0, -1)
    const bucketStream = `KV_${bucket}`

    /**
     * The values an instance's keys held, at every site, read so far by replayed reactions: an
     * instance is read again from where the last read ended, so a replay reads each value once
     * rather than the instance's whole history at every reaction. The most recently read instances
     * are kept.
     */
    const storedSoFar = new Map<
      string,
      { readonly next: number; readonly entries: ReadonlyArray<StoredEntry<unknown>> }
    >()

    /**
     * Every value an instance's keys held, at every site, oldest first, from the bucket's own
     * stream, which keeps every value of a key (`registerBucketHistory`). A key deleted by hand
     * (never by the registers) holds nothing from its deletion on; a value this code cannot decode
     * fails only a read that lands on it.
     */
    const storedValuesOf = <S, O, V>(register: RegisterDefinition<S, O, V>, id: string) =>
      Effect.gen(function* () {
        const subjectPrefix = `$KV.${bucket}.`
        const instance = `${register.name}/${id}`
        const known = storedSoFar.get(instance)
        const stored = yield* readStoredMessages(
          nats,
          bucketStream,
          `${subjectPrefix}${keyPrefix(register.name, id)}*`,
          `read the values of ${instance}`,
          known?.next,
        )
        const kept = (known?.entries ?? []) as ReadonlyArray<StoredEntry<S>>
        if (stored.length === 0) {
          // Kept as the most recently read.
          if (known !== undefined) {
            storedSoFar.delete(instance)
            storedSoFar.set(instance, known)
          }
          return kept
        }
        const entries: Array<StoredEntry<S>> = [...kept]
        for (const message of stored) {
          const key = message.subject.slice(subjectPrefix.length)
          const keySite = key.slice(key.lastIndexOf(".") + 1)
          const entry = { site: keySite, storedAt: message.storedAt }
          if (message.data.length === 0) {
            entries.push(entry)
            continue
          }
          const value = decodeEntry(register, key, { revision: message.sequence, value: message.data })
          entries.push(
            Result.isFailure(value)
              ? { ...entry, undecodable: value.failure }
              : { ...entry, value: value.success as StoredValue<S> },
          )
        }
        storedSoFar.delete(instance)
        storedSoFar.set(instance, { next: (stored.at(-1) as StoredMessage).sequence + 1, entries })
        if (storedSoFar.size > replayedInstancesKept)
          storedSoFar.delete(storedSoFar.keys().next().value as string)
        return entries
      })

    /**
     * Each of this site's and its peers' keys as it stood at `instant`: its last value that occurred
     * by then (a deletion, by when the server stored it). Fails when that value cannot be decoded.
     */
    const sitesAt = <S>(
      register: RegisterDefinition<S, unknown, unknown>,
      entries: ReadonlyArray<StoredEntry<S>>,
      instant: string,
    ): Effect.Effect<ReadonlyArray<SiteValue<S>>, RegisterError> => {
      const at = Date.parse(instant)
      const held = new Map<string, StoredEntry<S>>()
      for (const entry of entries) {
        // Stored in the order written, each occurred no earlier than the one before on its
        // writer's clock (one skewed replica's aside).
        const occurredAt =
          entry.value === undefined ? entry.storedAt : Date.parse(entry.value.change.occurredAt)
        if (occurredAt > at) continue
        held.set(entry.site, entry)
      }
      const sites: Array<SiteValue<S>> = []
      for (const s of [site, ...peers]) {
        const entry = held.get(s)
        if (entry?.undecodable !== undefined) return Effect.fail(entry.undecodable)
        sites.push(
          entry?.value ?? { site: s, revision: 0, version: 0, snapshot: emptySnapshot(register.kind) },
        )
      }
      return Effect.succeed(sites)
    }

    const read = <S, O, V>(register: RegisterDefinition<S, O, V>, id: string) =>
      Effect.gen(function* () {
        // A replayed reaction reads what its cause found, not the end of the day the replay holds.
        // Live, a reaction reads the present: reactions to one listing run out of order across
        // orders, and the last to run must not write an older stock than the one before it.
        const cause = yield* CurrentReactionCause
        if (cause?.replaying === true)
          return reading(
            register,
            id,
            yield* sitesAt(
              register as RegisterDefinition<S, unknown, unknown>,
              yield* storedValuesOf(register, id),
              cause.readAsOf,
            ),
          )
        const sites = yield* Effect.forEach([site, ...peers], (s) => readKey(register, id, s), {
          concurrency: "unbounded",
        })
        const own = sites[0]
        if (own !== undefined) {
          ownKeys.set(Subjects.registerKey(register.name, id, site), {
            site,
            revision: own.revision,
            version: own.version,
            snapshot: own.snapshot,
            recentKeys: own.recentKeys ?? [],
          })
        }
        return reading(register, id, sites)
      }).pipe(
        Effect.withSpan(
          "Registers.read",
          { attributes: { register: register.name, id } },
          { captureStackTrace: false },
        ),
      )

    /** The `RegisterChanged` that stores `snapshot` as this site's key's next value. */
    const changeOf = <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      own: SiteValue<S>,
      snapshot: RegisterSnapshot<S>,
      trace: TraceContext | undefined,
      options: WriteOptions,
      idempotencyKey: string | undefined,
      change: RegisterChangedEvent["payload"]["change"],
    ) => {
      // The window of keys is carried by every change of the key, keyed or not.
      const recentKeys =
        idempotencyKey === undefined
          ? (own.recentKeys ?? [])
          : [...(own.recentKeys ?? []), idempotencyKey].slice(-registerIdempotencyWindow)
      const version = own.version + 1
      const eventId = uuidv7({ msecs: change.hlc.wall, random: randomForId() })
      const envelope: RawEnvelope = {
        eventId,
        type: RegisterChanged.type,
        schemaVersion: RegisterChanged.version,
        aggregateType: register.name,
        aggregateId: id,
        aggregateVersion: version,
        occurredAt: isoNow(),
        correlationId: options.correlationId ?? eventId,
        causationId: options.causationId ?? null,
        actor: options.actor ?? { kind: "agent", id: agent },
        ...(trace === undefined ? {} : { trace }),
        payload: {
          register: register.name,
          id,
          site,
          kind: register.kind.kind,
          version,
          snapshot: {
            state: codecOf(register.kind).encodeState(snapshot.state),
            context: snapshot.context,
            hlc: snapshot.hlc,
          },
          change,
          ...(recentKeys.length === 0 ? {} : { recentKeys }),
        },
      }
      return { envelope, recentKeys, version }
    }

    /**
     * Stores a new value of this site's key as one `RegisterChanged`, by compare-and-set on the
     * revision it was read at; undefined when another writer got in first.
     */
    const store = async <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      own: SiteValue<S>,
      snapshot: RegisterSnapshot<S>,
      trace: TraceContext | undefined,
      options: WriteOptions,
      idempotencyKey: string | undefined,
      change: RegisterChangedEvent["payload"]["change"],
    ): Promise<{ readonly revision: number; readonly change: RegisterChangedEvent } | undefined> => {
      const { envelope, recentKeys, version } = changeOf(
        register,
        id,
        own,
        snapshot,
        trace,
        options,
        idempotencyKey,
        change,
      )
      const key = Subjects.registerKey(register.name, id, site)
      const bytes = encodeCommit([envelope])
      const revision = await (own.revision === 0
        ? kv.create(key, bytes)
        : kv.update(key, bytes, own.revision)
      ).then(
        (revision) => revision,
        (e) => {
          if (isWrongLastSequence(e)) return undefined
          throw registerUnavailable(`write register ${key}`, e)
        },
      )
      if (revision === undefined) return undefined
      // Built here from decoded parts, so it is the event a reader decodes from these bytes.
      const stored = envelope as RegisterChangedEvent
      // Only what the next write needs: keeping the whole change would grow the old heap and the GC.
      ownKeys.set(key, { site, revision, version, snapshot, recentKeys })
      return { revision, change: stored }
    }

    // Writes come thousands a second: one ISO string per millisecond serves all of that millisecond's.
    let isoAt = -1
    let iso = ""
    const isoNow = () => {
      const at = now()
      if (at !== isoAt) {
        isoAt = at
        iso = new Date(at).toISOString()
      }
      return iso
    }

    // A writer that lost waits a jittered moment before it tries again, so the losers spread out.
    const backoffMs = (attempt: number) => Math.floor(Math.random() * Math.min(2 ** attempt, 50))
    const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)))

    /** What a stored change gives its writer. */
    const outcomeOf = <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      snapshot: RegisterSnapshot<S>,
      stored: { readonly revision: number; readonly change: RegisterChangedEvent },
      attempts: number,
    ): WriteOutcome<S, V> => ({
      value: register.kind.read(snapshot.state),
      snapshot,
      revision: stored.revision,
      attempts,
      change: stored.change,
      duplicate: false,
    })

    /** The operation encoded for the change, once the agent is known as a writer of the register. */
    const checkedOp = <S, O, V>(register: RegisterDefinition<S, O, V>, id: string, op: O): unknown => {
      if (!register.writers.includes(agent)) {
        throw new RegisterError({
          reason: { _tag: "NotAWriter", register: register.name, agent, writers: [...register.writers] },
        })
      }
      try {
        return codecOf(register.kind).encodeOp(op)
      } catch (e) {
        throw new RegisterError({
          reason: {
            _tag: "InvalidOperation",
            register: register.name,
            id,
            message: `invalid operation: ${messageOf(e)}`,
            cause: e,
          },
        })
      }
    }

    /** A write's idempotency key: the caller's, else one derived from its cause and operation. */
    const idempotencyKeyOf = (writeOptions: WriteOptions, encodedOp: unknown): string | undefined =>
      writeOptions.idempotencyKey === undefined
        ? writeOptions.causationId == null
          ? undefined
          : `${writeOptions.causationId}:${createHash("sha256").update(canonicalJson(encodedOp)).digest("hex").slice(0, 16)}`
        : (writeOptions.idempotencyKey ?? undefined)

    /**
     * A write made by a replayed reaction (`MESH_REPLAY`), which stores nothing: the write the
     * recorded day made under its idempotency key is answered as a duplicate is live, whether or
     * not the key has since left the key's window; one the day has no record of (refused then, or
     * made without a key) is decided on the registers as they stood when the reaction first ran,
     * refused as it was then, or answered with the value it would store, unstored.
     *
     * A write the day did not make is where the code replayed departs from the day, unless the day
     * made the same operation from the same cause (a write without a key), or it is refused now and
     * the day stored nothing from that cause (as far as the log shows, it was refused then too). It
     * is noted (`noteDeparture`) with the day's operations from that cause, and the reaction's
     * report names it.
     */
    const replayWrite = <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      op: O,
      encodedOp: unknown,
      trace: TraceContext | undefined,
      writeOptions: WriteOptions,
      cause: ReactionCause,
    ) =>
      Effect.gen(function* () {
        const readAsOf = cause.readAsOf
        const idempotencyKey = idempotencyKeyOf(writeOptions, encodedOp)
        const values = yield* storedValuesOf(register, id)
        // The change that took the key in is the one whose window ends with it.
        const made =
          idempotencyKey === undefined
            ? undefined
            : values.find((v) => v.site === site && v.value?.recentKeys?.at(-1) === idempotencyKey)?.value
        if (made !== undefined)
          return {
            value: register.kind.read(made.snapshot.state),
            snapshot: made.snapshot,
            revision: made.revision,
            attempts: 0,
            change: made.change,
            duplicate: true,
          } satisfies WriteOutcome<S, V>
        const sites = yield* sitesAt(register as RegisterDefinition<S, unknown, unknown>, values, readAsOf)
        const applied = applyWrite(register.kind, merged(register, sites), op, {
          writer,
          site,
          clock,
          nowMs: Date.parse(readAsOf),
          ...(writeOptions.observed === undefined ? {} : { observed: writeOptions.observed }),
        })
        const departure = replayedWriteDeparture(
          register.name,
          id,
          encodedOp,
          idempotencyKey,
          writeOptions.causationId ?? null,
          values,
          Result.isFailure(applied) ? describeRejection(applied.failure) : null,
        )
        if (departure !== undefined) cause.noteDeparture?.(departure)
        if (Result.isFailure(applied))
          return yield* fail({
            _tag: "Rejected",
            register: register.name,
            id,
            message: describeRejection(applied.failure),
            rejection: applied.failure,
          })
        const { snapshot, dot, hlc, observed, unseen } = applied.success
        const own = sites[0] as SiteValue<S>
        const { envelope } = changeOf(register, id, own, snapshot, trace, writeOptions, idempotencyKey, {
          _tag: "Write",
          writer,
          dot,
          hlc,
          op: encodedOp,
          ...(writeOptions.observed === undefined ? {} : { observed }),
          unseen,
        })
        return {
          value: register.kind.read(snapshot.state),
          snapshot,
          revision: own.revision,
          attempts: 0,
          change: envelope as RegisterChangedEvent,
          // Nothing new was stored: the recorded day stands.
          duplicate: true,
        } satisfies WriteOutcome<S, V>
      })

    const writeNow = async <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      op: O,
      encodedOp: unknown,
      trace: TraceContext | undefined,
      writeOptions: WriteOptions,
    ): Promise<WriteOutcome<S, V>> => {
      // Continue from a fresh microtask: nats.js builds two errors with stack traces for every
      // request, and the Effect runtime's frames beneath this call made each capture dearer
      // (measured at a twentieth of a write's CPU).
      await undefined
      const key = Subjects.registerKey(register.name, id, site)
      const idempotencyKey = idempotencyKeyOf(writeOptions, encodedOp)
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const cached = ownKeys.get(key) as SiteValue<S> | undefined
        const own = cached ?? (await readKeyNow(register, id, site))
        if (idempotencyKey !== undefined && own.recentKeys?.includes(idempotencyKey)) {
          // Applied already: answer what the key holds now, read afresh for its change.
          const current = await readKeyNow(register, id, site)
          if (current.change !== undefined && current.recentKeys?.includes(idempotencyKey)) {
            return {
              value: register.kind.read(current.snapshot.state),
              snapshot: current.snapshot,
              revision: current.revision,
              attempts: attempt,
              change: current.change,
              duplicate: true,
            }
          }
        }
        const others =
          peers.length === 0 ? [] : await Promise.all(peers.map((peer) => readKeyNow(register, id, peer)))
        const applied = applyWrite(register.kind, merged(register, [own, ...others]), op, {
          writer,
          site,
          clock,
          nowMs: now(),
          ...(writeOptions.observed === undefined ? {} : { observed: writeOptions.observed }),
        })
        if (Result.isFailure(applied)) {
          // A refusal decided on a remembered value may be stale: decide once more on a fresh read.
          if (cached !== undefined) {
            ownKeys.delete(key)
            attempt--
            continue
          }
          throw new RegisterError({
            reason: {
              _tag: "Rejected",
              register: register.name,
              id,
              message: describeRejection(applied.failure),
              rejection: applied.failure,
            },
          })
        }
        const { snapshot, dot, hlc, observed, unseen } = applied.success
        const stored = await store(register, id, own, snapshot, trace, writeOptions, idempotencyKey, {
          _tag: "Write",
          writer,
          dot,
          hlc,
          op: encodedOp,
          ...(writeOptions.observed === undefined ? {} : { observed }),
          unseen,
        })
        if (stored === undefined) {
          // Another writer got in first: forget the value we had, read theirs and apply the op to it.
          ownKeys.delete(key)
          await backoff(attempt)
          continue
        }
        // Writes of this process run concurrently: the clock keeps the latest, never a slower write's.
        clock = maxHlc(clock, hlc)
        return outcomeOf(register, snapshot, stored, attempt)
      }
      throw new RegisterError({ reason: { _tag: "Contended", key, attempts: maxAttempts } })
    }

    const write = <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      op: NoInfer<O>,
      writeOptions: WriteOptions = {},
    ) =>
      Effect.flatMap(
        Effect.all([currentTraceContext, CurrentReactionCause]),
        ([trace, cause]) =>
          cause?.replaying === true
            ? Effect.try({
                try: () => checkedOp(register, id, op),
                catch: asRegisterError(`write register ${register.name}/${id}`),
              }).pipe(
                Effect.flatMap((encodedOp) =>
                  replayWrite(register, id, op, encodedOp, trace, writeOptions, cause),
                ),
              )
            : Effect.tryPromise({
                try: async () => writeNow(register, id, op, checkedOp(register, id, op), trace, writeOptions),
                catch: asRegisterError(`write register ${register.name}/${id}`),
              }),
        // No span of its own: measured, a span per write cost a tenth of its CPU, and started a trace
        // for writes nobody traced. A change carries its caller's trace (a reaction's `consume`
        // span, say), which is where a write belongs.
      )

    const merge = <S, O, V>(
      register: RegisterDefinition<S, O, V>,
      id: string,
      options: WriteOptions & { readonly rule?: string } = {},
    ) =>
      Effect.gen(function* () {
        const trace = yield* currentTraceContext
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          const sites = yield* Effect.forEach([site, ...peers], (s) => readKey(register, id, s), {
            concurrency: "unbounded",
          })
          if (!concurrentAmong(sites)) return undefined
          const own = sites[0] as SiteValue<S>
          const snapshot = merged(register, sites)
          const stored = yield* Effect.tryPromise({
            try: () =>
              store(register, id, own, snapshot, trace, options, undefined, {
                _tag: "Merge",
                writer,
                hlc: snapshot.hlc,
                inputs: sites
                  .filter((v) => v.version > 0)
                  .map((v) => ({ site: v.site, context: v.snapshot.context })),
                rule: options.rule ?? `${register.kind.kind} merge`,
              }),
            catch: asRegisterError(`merge register ${register.name}/${id}`),
          })
          if (stored === undefined) {
            yield* Effect.sleep(backoffMs(attempt))
            continue
          }
          return outcomeOf(register, snapshot, stored, attempt)
        }
        return yield* fail({
          _tag: "Contended",
          key: Subjects.registerKey(register.name, id, site),
          attempts: maxAttempts,
        })
      }).pipe(
        Effect.withSpan(
          "Registers.merge",
          { attributes: { register: register.name, id } },
          { captureStackTrace: false },
        ),
      )

    const stream = Subjects.streamName(namespace, "registers")
    const history = (register: string, id: string) =>
      Effect.gen(function* () {
        const filter = `$KV.${bucket}.${Subjects.registerKey(register, id, "x").slice(0, -2)}.*`
        const raw = yield* readStoredMessages(nats, stream, filter, `read the history of ${register}/${id}`)
        const changes: Array<RegisterChangedEvent> = []
        for (const { sequence, data } of raw) {
          const decoded = decodeCommit(registerCatalog, data)
          if (Result.isFailure(decoded)) {
            return yield* fail({
              _tag: "UndecodableValue",
              key: `${stream}#${sequence}`,
              revision: sequence,
              message: decoded.failure._tag,
            })
          }
          changes.push(...(decoded.success as ReadonlyArray<RegisterChangedEvent>))
        }
        return changes
      })

    const list = (register?: string) =>
      Effect.tryPromise({
        try: async () => {
          const instances = new Map<string, { register: string; id: string; sites: Array<string> }>()
          const keys = await kv.keys(
            register === undefined ? ">" : `${assertSubjectToken("register", register)}.>`,
          )
          for await (const key of keys) {
            const [name, id, keySite] = key.split(".") as [string, string, string]
            const slot = instances.get(`${name}.${id}`) ?? { register: name, id, sites: [] }
            slot.sites.push(keySite)
            instances.set(`${name}.${id}`, slot)
          }
          return [...instances.values()]
            .map((i) => ({ ...i, sites: i.sites.sort() }))
            .sort((a, b) => (`${a.register}.${a.id}` < `${b.register}.${b.id}` ? -1 : 1))
        },
        catch: (e) => registerUnavailable(`list registers in ${bucket}`, e),
      })

    const subscribe = (register?: string) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () =>
            kv.watch({
              key: register === undefined ? ">" : `${assertSubjectToken("register", register)}.>`,
              include: KvWatchInclude.UpdatesOnly,
            }),
          catch: (e) => registerUnavailable(`watch ${bucket}`, e),
        }),
        // Stopped when the scope closes, not when the next change arrives: on a quiet register the
        // watcher's consumer would otherwise outlive its reader.
        (iterator) => Effect.sync(() => iterator.stop()),
      ).pipe(
        Effect.map((iterator) =>
          Stream.fromAsyncIterable(iterator, (e) => registerUnavailable(`watch ${bucket}`, e)).pipe(
            Stream.filter((entry) => entry.operation === "PUT"),
            Stream.mapEffect((entry) => {
              const decoded = decodeCommit(registerCatalog, entry.value)
              if (Result.isSuccess(decoded))
                return Effect.succeed(decoded.success[0] as RegisterChangedEvent | undefined)
              // One value nobody can decode must not stop every watcher of the bucket: it is named and skipped.
              return Effect.logWarning(
                `register value ${entry.key} at revision ${entry.revision} cannot be decoded (${decoded.failure._tag}); skipped`,
              ).pipe(Effect.as(undefined))
            }),
            Stream.filter((change): change is RegisterChangedEvent => change !== undefined),
          ),
        ),
      )

    const watch = (register?: string) => Stream.unwrap(subscribe(register))

    return {
      site,
      peers,
      writer,
      bucket,
      read,
      write,
      merge,
      history,
      list,
      watch,
      subscribe,
    } satisfies RegistersShape
  })

const siteToken = "[A-Za-z0-9_-]{1,128}"
const SiteName = Schema.String.check(
  Schema.isPattern(new RegExp(`^${siteToken}$`), { message: "must be 1-128 letters, digits, '_' or '-'" }),
)
const SiteList = Schema.String.check(
  Schema.isPattern(new RegExp(`^(${siteToken}(,${siteToken})*)?$`), {
    message: "must be site names (1-128 letters, digits, '_' or '-') separated by commas",
  }),
)

/** `MESH_SITE`, `MESH_PEER_SITES` and `MESH_INSTANCE_ID`: where this process writes, and as whom. */
export const registerSiteConfig = Config.all({
  site: Config.schema(SiteName, "MESH_SITE").pipe(Config.withDefault("main")),
  peerSites: Config.schema(SiteList, "MESH_PEER_SITES").pipe(Config.withDefault("")),
  instance: Config.option(Config.schema(SiteName, "MESH_INSTANCE_ID")),
}).pipe(
  Config.map(({ site, peerSites, instance }) => ({
    site,
    peerSites: peerSites === "" ? [] : peerSites.split(","),
    ...Option.match(instance, { onNone: () => ({}), onSome: (i) => ({ instance: i }) }),
  })),
)

/** The shared registers of the process's namespace, as its agent writes them. */
export class Registers extends Context.Service<Registers, RegistersShape>()("mesh/Registers") {
  /** Registers for `options`, on the process's NATS connection. */
  static readonly layer = (options: RegistersOptions): Layer.Layer<Registers, RegisterError, NatsClient> =>
    Layer.effect(
      Registers,
      Effect.gen(function* () {
        return yield* makeRegisters(yield* NatsClient, options)
      }),
    )

  /**
   * The registers of `agent` in the process's namespace (its bucket with the namespace's
   * replicas), at the site `MESH_SITE` with peers `MESH_PEER_SITES`, as instance
   * `MESH_INSTANCE_ID` (default: the host name).
   */
  static readonly layerFromConfig = (
    agent: string,
  ): Layer.Layer<Registers, RegisterError | Config.ConfigError, NatsClient | MeshNamespace> =>
    Layer.effect(
      Registers,
      Effect.gen(function* () {
        const { name, replicas } = yield* MeshNamespace
        const where = yield* registerSiteConfig
        return yield* makeRegisters(yield* NatsClient, { namespace: name, replicas, agent, ...where })
      }),
    )
}
