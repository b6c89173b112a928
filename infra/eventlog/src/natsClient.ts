import { readFile } from "node:fs/promises"
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { unavailable } from "./errors.ts"

/** An open NATS connection with its JetStream client and manager. */
export interface NatsHandles {
  readonly connection: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

/** How to reach and authenticate to NATS beyond its URL. */
export interface NatsConnectOptions {
  /**
   * How long the first connection may take before it fails (default 10 s); later outages reconnect
   * forever. A refused connection fails at once; the bound is for a handshake that a server (or a
   * pod throttled to its CPU limit) answers slowly: 5 s was seen to run out on a saturated 2-core
   * machine while the server was up.
   */
  readonly timeoutMs?: number
  /** A token the server requires (a secret). */
  readonly token?: Redacted.Redacted<string>
  /** A credentials file (JWT and NKey seed) for servers using decentralised auth. */
  readonly credsFile?: string
  /** Reconnect attempts after a lost connection (default: forever, as a long-lived agent should). */
  readonly maxReconnectAttempts?: number
}

/** `MESH_NATS_TOKEN` (a secret) and `MESH_NATS_CREDS`, when the server asks for them. */
export const natsAuthConfig: Config.Config<Pick<NatsConnectOptions, "token" | "credsFile">> = Config.all({
  token: Config.option(Config.Redacted("MESH_NATS_TOKEN")),
  credsFile: Config.option(Config.String("MESH_NATS_CREDS")),
}).pipe(
  Config.map(({ token, credsFile }) => ({
    ...Option.match(token, { onNone: () => ({}), onSome: (t) => ({ token: t }) }),
    ...Option.match(credsFile, { onNone: () => ({}), onSome: (f) => ({ credsFile: f }) }),
  })),
)

const defaultConnectTimeoutMs = 10_000

/** Whether a connection is up, and a wait for it to be up again. */
export interface ConnectionLink {
  readonly isUp: () => boolean
  /** Resolves at once while the connection is up, else once it is back (or closed for good). */
  readonly whenUp: () => Promise<void>
}

const links = new WeakMap<NatsConnection, ConnectionLink>()

/**
 * The link of a connection, watched from the first call on (`openNats` makes that call as soon as
 * it connects). What a client publishes while the link is down, nats.js drops at the next dial: an
 * ack or nak sent then is lost, and its message comes back only after its ack deadline.
 *
 * Whether it is up is the protocol's own flag, which nats.js clears before it fails the requests
 * a lost connection strands (patches/): a caller failing on one of those sees the link down. The
 * status events, which arrive later, only wake the waiters.
 */
export const connectionLink = (connection: NatsConnection): ConnectionLink => {
  const known = links.get(connection)
  if (known !== undefined) return known
  let seenUp = !connection.isClosed()
  const protocol = (connection as unknown as { readonly protocol?: { readonly connected?: unknown } })
    .protocol
  const isUp = () =>
    !connection.isClosed() && (typeof protocol?.connected === "boolean" ? protocol.connected : seenUp)
  let waiting: Array<() => void> = []
  const release = () => {
    if (!isUp() && !connection.isClosed()) return
    const released = waiting
    waiting = []
    for (const resume of released) resume()
  }
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === "disconnect") seenUp = false
      else if (status.type === "reconnect") seenUp = true
      release()
    }
  })()
  void connection.closed().then(release)
  const link: ConnectionLink = {
    isUp,
    whenUp: () =>
      isUp() || connection.isClosed()
        ? Promise.resolve()
        : new Promise<void>((resume) => waiting.push(resume)),
  }
  links.set(connection, link)
  return link
}

/** Opens a connection; the caller drains it. It reconnects by itself after the first one succeeds. */
export const openNats = async (
  url: string,
  name = "agent-mesh",
  options: NatsConnectOptions = {},
): Promise<NatsHandles> => {
  const authenticator =
    options.credsFile === undefined
      ? undefined
      : credsAuthenticator(new Uint8Array(await readFile(options.credsFile)))
  const connection = await connect({
    servers: url,
    name,
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    timeout: options.timeoutMs ?? defaultConnectTimeoutMs,
    // nats.js otherwise builds an Error (with its stack trace) for every request and JetStream
    // publish, to name where a timeout started: about a tenth of an agent's CPU on the shop's day.
    // Our errors name the operation that failed themselves.
    noAsyncTraces: true,
    ...(options.token === undefined ? {} : { token: Redacted.value(options.token) }),
    ...(authenticator === undefined ? {} : { authenticator }),
  })
  connectionLink(connection)
  // The first JetStream API call proves JetStream answers, within the same bound as the connection.
  const jsm = await jetstreamManager(connection, { timeout: options.timeoutMs ?? defaultConnectTimeoutMs })
  return { connection, js: jetstream(connection), jsm }
}

/** The NATS connection of a process. One per process; drained on shutdown. */
export class NatsClient extends Context.Service<NatsClient, NatsHandles>()("mesh/NatsClient") {
  /** Connects to `url` and drains the connection when the layer's scope closes. */
  static readonly layer = (url: string, name?: string, options: NatsConnectOptions = {}) =>
    Layer.effect(
      NatsClient,
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => openNats(url, name, options),
          catch: (e) => unavailable(`connect to NATS at ${url}`, e),
        }),
        (h) => Effect.promise(() => h.connection.drain().catch(() => undefined)),
      ),
    )

  /**
   * Connects to `MESH_NATS_URL` (required: a process without it stops naming the variable, and
   * never starts a server of its own), with `MESH_NATS_TOKEN` or `MESH_NATS_CREDS` when the server
   * asks for them. `name` is how the server lists the connection (the agent's name).
   */
  static readonly layerFromConfig = (name?: string) =>
    Layer.unwrap(
      Effect.gen(function* () {
        const url = yield* Config.String("MESH_NATS_URL")
        return NatsClient.layer(url, name, yield* natsAuthConfig)
      }),
    )
}
