import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Config, Context, Effect, Layer } from "effect"
import { unavailable } from "./errors.ts"

/** An open NATS connection with its JetStream client and manager. */
export interface NatsHandles {
  readonly connection: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

/** Opens a connection; the caller drains it. */
export const openNats = async (url: string, name = "agent-mesh"): Promise<NatsHandles> => {
  const connection = await connect({ servers: url, name, maxReconnectAttempts: -1 })
  const jsm = await jetstreamManager(connection)
  return { connection, js: jetstream(connection), jsm }
}

/** The NATS connection of a process. One per process; drained on shutdown. */
export class NatsClient extends Context.Service<NatsClient, NatsHandles>()("NatsClient") {
  /** Connects to `url` and drains the connection when the layer's scope closes. */
  static readonly layer = (url: string, name?: string) =>
    Layer.effect(
      NatsClient,
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => openNats(url, name),
          catch: (e) => unavailable(`connect to ${url}`, e),
        }),
        (h) => Effect.promise(() => h.connection.drain().catch(() => undefined)),
      ),
    )

  /** Connects to the server named by `NATS_URL`. */
  static readonly layerFromConfig = Layer.unwrap(
    Effect.gen(function* () {
      const url = yield* Config.String("NATS_URL")
      return NatsClient.layer(url)
    }),
  )
}
