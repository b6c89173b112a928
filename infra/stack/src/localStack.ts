import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { Effect, Schema, type Scope } from "effect"
import {
  type NatsServerHandle,
  NatsServerNotFound,
  type NatsServerOptions,
  type NatsServerVersion,
  natsServerVersion,
  startNatsServer,
} from "./natsServer.ts"

/** No NATS server could be found or started; the message says how to get one. */
export class NatsUnavailable extends Schema.TaggedError<NatsUnavailable>()("NatsUnavailable", {
  message: Schema.String,
}) {}

/** Where a resolved NATS comes from: MESH_NATS_URL, a private nats-server process, or a Docker container. */
export type NatsSource = "env" | "private" | "container"

/** A NATS server to connect to; `stop` stops it only if this process started it. */
export interface ResolvedNats {
  readonly url: string
  readonly source: NatsSource
  /** The private server when `source` is "private". */
  readonly server: NatsServerHandle | undefined
  /** Server version when known (private servers). */
  readonly version: NatsServerVersion | undefined
  /** Stops a private server or container started here; a no-op for "env". Idempotent. */
  stop(): Promise<void>
}

/** Options for {@link resolveNats}. */
export interface ResolveNatsOptions {
  /** Project data folder; a private server keeps its JetStream store in `<dataDir>/nats`. A temp dir when omitted. */
  readonly dataDir?: string | undefined
  /** Environment to read MESH_NATS_URL and DOCKER_HOST from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** nats-server binary (default "nats-server" on PATH). */
  readonly binary?: string
  /** Fixed client port for the private server (default: a free one). */
  readonly port?: number
  /** Whether a Docker container may be started as the last resort (default true). */
  readonly allowContainer?: boolean
}

const NATS_HOW_TO =
  "Set MESH_NATS_URL to a running server (e.g. MESH_NATS_URL=nats://127.0.0.1:4222), or install nats-server >= 2.10.23 " +
  "on PATH (on Debian bookworm: Debian trixie's nats-server package with an apt pin, see " +
  "shared/notes/nats-server.md), or start a Docker engine."

const dockerAvailable = (env: Readonly<Record<string, string | undefined>>): boolean =>
  (env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== "") || existsSync("/var/run/docker.sock")

const startContainer = async (): Promise<ResolvedNats> => {
  const { GenericContainer, Wait } = await import("testcontainers")
  // Ephemeral: the container's JetStream store goes with it.
  const container = await new GenericContainer("nats:2.10-alpine")
    .withCommand(["-js"])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start()
  let stopping: Promise<void> | undefined
  return {
    url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
    source: "container",
    server: undefined,
    version: undefined,
    stop: () => {
      stopping ??= container.stop().then(() => undefined)
      return stopping
    },
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * NATS for the demo and `mesh dev`: MESH_NATS_URL if set; else a private nats-server from PATH with its
 * store under `<dataDir>/nats`; else a Docker container; else rejects with {@link NatsUnavailable}
 * saying how to get one. Never stops or reconfigures a server it did not start.
 */
export const resolveNats = async (options: ResolveNatsOptions = {}): Promise<ResolvedNats> => {
  const env = options.env ?? process.env
  const url = env.MESH_NATS_URL
  if (url !== undefined && url !== "") {
    return { url, source: "env", server: undefined, version: undefined, stop: async () => undefined }
  }

  const binary = options.binary ?? "nats-server"
  let binaryProblem: string | undefined
  try {
    await natsServerVersion(binary)
  } catch (error) {
    if (!(error instanceof NatsServerNotFound)) throw error
    binaryProblem = error.message
  }
  if (binaryProblem === undefined) {
    const serverOptions: NatsServerOptions = {
      binary,
      ...(options.dataDir === undefined ? {} : { storeDir: join(options.dataDir, "nats") }),
      ...(options.port === undefined ? {} : { port: options.port }),
    }
    let server: NatsServerHandle
    try {
      server = await startNatsServer(serverOptions)
    } catch (error) {
      throw new NatsUnavailable({ message: `could not start a private nats-server: ${describe(error)}` })
    }
    return { url: server.url, source: "private", server, version: server.version, stop: () => server.stop() }
  }

  if ((options.allowContainer ?? true) && dockerAvailable(env)) {
    try {
      return await startContainer()
    } catch (error) {
      throw new NatsUnavailable({
        message: `no MESH_NATS_URL, no usable nats-server binary, and the nats:2.10-alpine container failed to start (${describe(error)}). ${NATS_HOW_TO}`,
      })
    }
  }
  throw new NatsUnavailable({
    message: `No NATS server available: MESH_NATS_URL is not set, no Docker engine answers, and ${binaryProblem} ${NATS_HOW_TO}`,
  })
}

/** {@link resolveNats} as a scoped Effect: stops what it started when the scope closes. */
export const scopedNats = (
  options: ResolveNatsOptions = {},
): Effect.Effect<ResolvedNats, NatsUnavailable, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => resolveNats(options),
      catch: (error) =>
        error instanceof NatsUnavailable ? error : new NatsUnavailable({ message: describe(error) }),
    }),
    (nats) => Effect.promise(() => nats.stop()),
  )

/** {@link startNatsServer} as a scoped Effect: the private server stops when the scope closes. */
export const scopedNatsServer = (
  options: NatsServerOptions = {},
): Effect.Effect<NatsServerHandle, NatsUnavailable, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => startNatsServer(options),
      catch: (error) => new NatsUnavailable({ message: describe(error) }),
    }),
    (server) => Effect.promise(() => server.stop()),
  )

/** The nearest folder at or above `from` holding pnpm-workspace.yaml; throws when there is none. */
export const findRepoRoot = (from: string = import.meta.dirname): string => {
  let dir = resolve(from)
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml at or above ${from}`)
    dir = parent
  }
}

/** The project's local data folder: env MESH_DATA_DIR if set, else `<repo root>/.data` (not created here). */
export const projectDataDir = (
  options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly from?: string } = {},
): string => {
  const override = (options.env ?? process.env).MESH_DATA_DIR
  if (override !== undefined && override !== "") return resolve(override)
  return join(findRepoRoot(options.from), ".data")
}
