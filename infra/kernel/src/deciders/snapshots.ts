import { Subjects } from "@mesh/contracts"
import type { AggregatePosition, AggregateRef, NatsHandles } from "@mesh/eventlog"
import { type KV, Kvm } from "@nats-io/kv"
import { Effect, Result, Schema } from "effect"

/** A stored snapshot: the state at a position, and the latest command ids it has seen. */
export interface Snapshot<State> {
  readonly position: AggregatePosition
  readonly state: State
  /** Recent command ids, so that a command redelivered after the snapshot is still recognised. */
  readonly commandIds: ReadonlyArray<string>
}

/** How an aggregate snapshots: how often, and the codec of its state (with a version to bump on change). */
export interface SnapshotPolicy<State> {
  readonly every: number
  readonly version: number
  readonly schema: Schema.Codec<State, unknown>
}

/** Where snapshots live. Snapshots are a cache: losing one only costs a longer load. */
export interface SnapshotStore {
  readonly read: (ref: AggregateRef) => Effect.Effect<Uint8Array | undefined>
  readonly write: (ref: AggregateRef, bytes: Uint8Array) => Effect.Effect<void>
}

/** How many recent command ids a snapshot carries. */
export const snapshotCommandIds = 256

const Stored = Schema.Struct({
  policyVersion: Schema.Number,
  position: Schema.Struct({ version: Schema.Number, sequence: Schema.Number }),
  state: Schema.Unknown,
  commandIds: Schema.Array(Schema.String),
})
const decodeStored = Schema.decodeUnknownResult(Schema.fromJsonString(Stored))

/** Encodes a snapshot for the store. */
export const encodeSnapshot = <State>(policy: SnapshotPolicy<State>, snapshot: Snapshot<State>): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({
      policyVersion: policy.version,
      position: snapshot.position,
      state: Schema.encodeSync(policy.schema)(snapshot.state),
      commandIds: snapshot.commandIds.slice(-snapshotCommandIds),
    }),
  )

/** Decodes a snapshot; one written under another policy version or state schema is ignored. */
export const decodeSnapshot = <State>(
  policy: SnapshotPolicy<State>,
  bytes: Uint8Array,
): Snapshot<State> | undefined => {
  const stored = decodeStored(new TextDecoder().decode(bytes))
  if (Result.isFailure(stored) || stored.success.policyVersion !== policy.version) return undefined
  const state = Schema.decodeUnknownResult(policy.schema)(stored.success.state)
  if (Result.isFailure(state)) return undefined
  return { position: stored.success.position, state: state.success, commandIds: stored.success.commandIds }
}

const keyOf = (ref: AggregateRef) => `${ref.domain}.${ref.type}.${ref.id}`

/**
 * Snapshots in the namespace's KV bucket (declared with its streams, see `declareTopology`), one key
 * per aggregate, last value only. It opens the bucket the topology made, with its replicas, and
 * creates a one-replica bucket only where none was declared (a test without a topology).
 */
export const makeKvSnapshotStore = async (nats: NatsHandles, namespace: string): Promise<SnapshotStore> => {
  const bucket = Subjects.snapshotBucket(namespace)
  const declared = await nats.jsm.streams.info(`KV_${bucket}`).then(
    () => true,
    () => false,
  )
  const kvm = new Kvm(nats.connection)
  const kv: KV = declared ? await kvm.open(bucket) : await kvm.create(bucket, { history: 1 })
  return {
    read: (ref) =>
      Effect.tryPromise(() => kv.get(keyOf(ref))).pipe(
        Effect.map((entry) => (entry === null || entry.operation !== "PUT" ? undefined : entry.value)),
        // A snapshot that cannot be read is the same as none: the full history is still there.
        Effect.orElseSucceed(() => undefined),
      ),
    write: (ref, bytes) =>
      Effect.tryPromise(() => kv.put(keyOf(ref), bytes)).pipe(
        Effect.asVoid,
        Effect.catch((e) => Effect.logWarning(`snapshot of ${keyOf(ref)} not written: ${String(e)}`)),
      ),
  }
}
