import { Namespace } from "@mesh/contracts"
import { Config, Context, Effect, Layer, Schema } from "effect"

/** `MESH_NAMESPACE`: the namespace a process works in (default "mesh"); a bad one fails naming the variable. */
export const namespaceConfig: Config.Config<string> = Config.schema(Namespace, "MESH_NAMESPACE").pipe(
  Config.withDefault("mesh"),
)

const Replicas = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 5 })),
)

/** `MESH_STREAM_REPLICAS`: JetStream replicas of the streams, buckets and stores a process declares (1 locally, 3 in production). */
export const streamReplicasConfig: Config.Config<number> = Config.schema(
  Replicas,
  "MESH_STREAM_REPLICAS",
).pipe(Config.withDefault(1))

/**
 * `MESH_REPLAY`: the process replays recorded history (`mesh sandbox` sets it), default false. Its
 * reactions decide as of their cause: they read the shared registers, and their commands are
 * decided on their aggregates, as they stood when the cause was written; a command the log does
 * not hold is reported as a departure from the recorded history and never appended.
 */
export const replayConfig: Config.Config<boolean> = Config.Boolean("MESH_REPLAY").pipe(
  Config.withDefault(false),
)

/** The namespace a process works in, and the replicas of the streams and stores it declares there. */
export interface MeshNamespaceShape {
  /** Subject, stream and store prefix; one per mesh, and one per test, sandbox or fork. */
  readonly name: string
  readonly replicas: number
}

/**
 * The namespace of a process. Every service that names something in NATS, Postgres or LanceDB
 * takes it from here, so that they can never disagree about where the process lives.
 */
export class MeshNamespace extends Context.Service<MeshNamespace, MeshNamespaceShape>()(
  "mesh/MeshNamespace",
) {
  /** A fixed namespace (tests, sandboxes, forks), with one replica unless told otherwise. */
  static readonly layer = (name: string, replicas = 1) =>
    Layer.effect(
      MeshNamespace,
      Effect.map(Schema.decodeUnknownEffect(Namespace)(name), (checked) =>
        MeshNamespace.of({ name: checked, replicas }),
      ),
    )

  /** `MESH_NAMESPACE` (default "mesh") and `MESH_STREAM_REPLICAS` (default 1). */
  static readonly layerFromConfig = Layer.effect(
    MeshNamespace,
    Effect.gen(function* () {
      return MeshNamespace.of({ name: yield* namespaceConfig, replicas: yield* streamReplicasConfig })
    }),
  )
}
