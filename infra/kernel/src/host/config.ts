import { Config, type Option, Schema } from "effect"

/** Settings of an agent process, read from the environment and validated at start-up. */
export interface AgentHostConfig {
  /** Subject and stream prefix; one namespace per mesh (and per test or fork). */
  readonly namespace: string
  /** NATS server URL; when absent, the local stack resolves one (for `mesh dev` and the demo). */
  readonly natsUrl: Option.Option<string>
  /** Postgres URL for read models; when absent, embedded PGlite under the data folder. */
  readonly databaseUrl: Option.Option<string>
  readonly httpHost: string
  /** 0 picks a free port (tests). */
  readonly httpPort: number
  /** How long a shutdown waits for in-flight messages before abandoning them to redelivery. */
  readonly shutdownGraceMs: number
  /** JetStream replicas of the streams this agent declares (1 locally, 3 in production). */
  readonly streamReplicas: number
}

const Port = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 65_535 })),
)
const NonNegativeInt = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
)
const Replicas = Schema.NumberFromString.pipe(
  Schema.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 5 })),
)

/** Reads and validates the host settings; a bad value fails with an error naming the variable. */
export const agentHostConfig: Config.Config<AgentHostConfig> = Config.all({
  namespace: Config.schema(
    Schema.String.check(
      Schema.isPattern(/^[a-z0-9_-]{1,64}$/, { message: "must be 1-64 characters of a-z, 0-9, '_' or '-'" }),
    ),
    "MESH_NAMESPACE",
  ).pipe(Config.withDefault("mesh")),
  natsUrl: Config.option(Config.String("NATS_URL")),
  databaseUrl: Config.option(Config.String("DATABASE_URL")),
  httpHost: Config.String("HTTP_HOST").pipe(Config.withDefault("0.0.0.0")),
  httpPort: Config.schema(Port, "HTTP_PORT").pipe(Config.withDefault(8080)),
  shutdownGraceMs: Config.schema(NonNegativeInt, "MESH_SHUTDOWN_GRACE_MS").pipe(Config.withDefault(10_000)),
  streamReplicas: Config.schema(Replicas, "MESH_STREAM_REPLICAS").pipe(Config.withDefault(1)),
})
