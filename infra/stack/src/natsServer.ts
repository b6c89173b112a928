import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Schema } from "effect"
import { exited, LogTail, ownProcess, ownTempDir, releaseTempDir, sleep } from "./ownedProcesses.ts"

/** The nats-server binary could not be found or run. */
export class NatsServerNotFound extends Schema.TaggedError<NatsServerNotFound>()("NatsServerNotFound", {
  message: Schema.String,
}) {}

/** A nats-server process exited early or did not become ready in time. */
export class NatsServerStartFailed extends Schema.TaggedError<NatsServerStartFailed>()(
  "NatsServerStartFailed",
  { message: Schema.String },
) {}

/** The nats-server version cannot be trusted with replicated (R3) JetStream. */
export class NatsServerUnsupported extends Schema.TaggedError<NatsServerUnsupported>()(
  "NatsServerUnsupported",
  { message: Schema.String },
) {}

/** A parsed `nats-server --version`. */
export interface NatsServerVersion {
  readonly major: number
  readonly minor: number
  readonly patch: number
  /** As printed, without the leading "v", e.g. "2.10.27". */
  readonly text: string
}

/** Options for {@link startNatsServer}. */
export interface NatsServerOptions {
  /** JetStream store; a fresh temp dir (removed on stop) when omitted. A given dir is kept. */
  readonly storeDir?: string
  /** Client port; a free one chosen by the OS when omitted. */
  readonly port?: number
  /** Monitoring (HTTP) port; a free one when omitted. */
  readonly monitorPort?: number
  /** Enable JetStream (default true). */
  readonly jetstream?: boolean
  /** Extra command-line arguments appended as given. */
  readonly args?: ReadonlyArray<string>
  /** Binary name or path (default "nats-server" from PATH). */
  readonly binary?: string
  /** How long to wait for readiness (default 10 000 ms). */
  readonly readyTimeoutMs?: number
  /** Cluster membership; normally set by {@link startNatsCluster}. */
  readonly cluster?: NatsClusterMembership
}

/** Route settings of one node in a cluster. */
export interface NatsClusterMembership {
  readonly name: string
  readonly serverName: string
  readonly port: number
  /** Cluster ports of the other nodes. */
  readonly routePorts: ReadonlyArray<number>
}

/** A private nats-server started by this process. */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** `http://127.0.0.1:<monitorPort>`, for /healthz, /varz, /jsz. */
  readonly monitorUrl: string
  readonly monitorPort: number
  readonly storeDir: string
  /** Pid of the current process (changes on restart); undefined while stopped. */
  readonly pid: number | undefined
  readonly version: NatsServerVersion
  /** Whether the process is currently alive. */
  readonly running: boolean
  /** The last lines the server logged (stdout and stderr). */
  logTail(): string
  /** Graceful SIGTERM, waits for exit (SIGKILL after 10 s); removes a temp store dir. Idempotent. */
  stop(): Promise<void>
  /** Sends a signal (default SIGKILL) and waits for exit; keeps the store, for crash tests. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Stops gracefully if running, then starts again on the same ports and store. */
  restart(): Promise<void>
  /** Polls the full /healthz (streams and consumers current) until it answers ok. */
  waitHealthy(timeoutMs?: number): Promise<void>
}

/** Options for {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Number of nodes (default 3). */
  readonly size?: number
  /** Parent dir for the nodes' stores (`<storeDir>/n<i>`); a temp dir when omitted. */
  readonly storeDir?: string
  readonly binary?: string
  /** Extra arguments for every node. */
  readonly args?: ReadonlyArray<string>
  /** How long to wait for each node and then for a JetStream meta leader (default 10 000 ms each). */
  readonly readyTimeoutMs?: number
}

/** A private JetStream cluster; nodes can be killed and restarted one by one. */
export interface NatsClusterHandle {
  readonly nodes: ReadonlyArray<NatsServerHandle>
  /** Client URLs of all nodes, for `connect({ servers })`. */
  readonly urls: ReadonlyArray<string>
  readonly version: NatsServerVersion
  /** Polls until JetStream answers account info (a meta leader exists), e.g. after killing nodes. */
  waitForMetaLeader(timeoutMs?: number): Promise<void>
  /** Stops every node; removes the temp store dir. */
  stop(): Promise<void>
}

const DEFAULT_READY_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 10_000
const LOG_TAIL_LINES = 40
const MIN_REPLICATED = { major: 2, minor: 10, patch: 23 } as const

/** Parses the output of `nats-server --version` ("nats-server: v2.10.27"). */
export const parseNatsServerVersion = (output: string): NatsServerVersion | undefined => {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(output)
  if (!match) return undefined
  const [, major, minor, patch] = match
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    text: `${major}.${minor}.${patch}`,
  }
}

const compareVersions = (
  a: Pick<NatsServerVersion, "major" | "minor" | "patch">,
  b: Pick<NatsServerVersion, "major" | "minor" | "patch">,
): number => a.major - b.major || a.minor - b.minor || a.patch - b.patch

const toVersion = (version: NatsServerVersion | string): NatsServerVersion => {
  if (typeof version !== "string") return version
  const parsed = parseNatsServerVersion(version)
  if (!parsed) throw new NatsServerUnsupported({ message: `cannot parse nats-server version "${version}"` })
  return parsed
}

/** Whether this version is trusted for replicated (R3) streams and KV: >= 2.10.23. */
export const isReplicatedCapable = (version: NatsServerVersion | string): boolean =>
  compareVersions(toVersion(version), MIN_REPLICATED) >= 0

/** Throws {@link NatsServerUnsupported} when the version is below 2.10.23. */
export const assertReplicatedCapable = (version: NatsServerVersion | string): void => {
  const v = toVersion(version)
  if (!isReplicatedCapable(v)) {
    throw new NatsServerUnsupported({
      message:
        `nats-server ${v.text} is too old for replicated (R3) JetStream: need >= 2.10.23 ` +
        "(2.9.x has broken compare-and-set on R3 KV; 2.10.20-2.10.22 could lose streams on restart; " +
        "see shared/notes/nats-server.md)",
    })
  }
}

const missingBinaryMessage = (binary: string, cause: string): string =>
  `cannot run nats-server binary "${binary}" (${cause}). Set MESH_NATS_URL to a running server, ` +
  "or install nats-server >= 2.10.23 on PATH (on Debian bookworm: Debian trixie's nats-server package " +
  "with an apt pin, see shared/notes/nats-server.md), or run a Docker engine."

/** Runs `<binary> --version`; rejects with {@link NatsServerNotFound} when it cannot run. */
export const natsServerVersion = (binary = "nats-server"): Promise<NatsServerVersion> =>
  new Promise((resolve, reject) => {
    execFile(binary, ["--version"], { timeout: 5_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new NatsServerNotFound({ message: missingBinaryMessage(binary, error.message) }))
        return
      }
      const version = parseNatsServerVersion(`${stdout}${stderr}`)
      if (!version) {
        reject(
          new NatsServerNotFound({
            message: missingBinaryMessage(binary, `unrecognised --version output "${stdout.trim()}"`),
          }),
        )
        return
      }
      resolve(version)
    })
  })

/** Asks the OS for `count` distinct free TCP ports on 127.0.0.1 (bind port 0, read, close). */
export const freePorts = async (count: number): Promise<Array<number>> => {
  const servers: Array<Server> = []
  try {
    const ports: Array<number> = []
    for (let i = 0; i < count; i++) {
      const server = createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(0, "127.0.0.1", () => resolve())
      })
      const address = server.address()
      if (address === null || typeof address === "string") throw new Error("no port from the OS")
      ports.push(address.port)
    }
    return ports
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

// ---- One server process ----

const healthzOk = async (url: string): Promise<boolean> => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) })
    await response.body?.cancel()
    return response.ok
  } catch {
    return false
  }
}

interface ServerConfig {
  readonly binary: string
  readonly port: number
  readonly monitorPort: number
  readonly storeDir: string
  readonly jetstream: boolean
  readonly args: ReadonlyArray<string>
  readonly cluster: NatsClusterMembership | undefined
  readonly readyTimeoutMs: number
}

const serverArgs = (config: ServerConfig): Array<string> => {
  const args = ["-a", "127.0.0.1", "-p", String(config.port), "-m", String(config.monitorPort)]
  if (config.jetstream) args.push("-js", "-sd", config.storeDir)
  if (config.cluster) {
    const { name, serverName, port, routePorts } = config.cluster
    args.push("-n", serverName, "--cluster_name", name, "--cluster", `nats://127.0.0.1:${port}`)
    if (routePorts.length > 0) args.push("--routes", routePorts.map((p) => `nats://127.0.0.1:${p}`).join(","))
  }
  args.push(...config.args)
  return args
}

/** Spawns the process and resolves once it is ready; rejects (after killing it) otherwise. */
const launch = async (config: ServerConfig, log: LogTail): Promise<ChildProcess> => {
  const child = spawn(config.binary, serverArgs(config), { stdio: ["ignore", "pipe", "pipe"] })
  child.stdout?.setEncoding("utf8").on("data", (d: string) => log.push(d))
  child.stderr?.setEncoding("utf8").on("data", (d: string) => log.push(d))

  let failure: Error | undefined
  child.once("error", (error) => {
    failure = new NatsServerNotFound({ message: missingBinaryMessage(config.binary, error.message) })
  })
  child.once("exit", (code, signal) => {
    failure ??= new NatsServerStartFailed({
      message: `nats-server on port ${config.port} exited during startup (code ${code}, signal ${signal}):\n${log.text()}`,
    })
  })
  if (child.pid !== undefined) ownProcess(child)

  const readyUrl = `http://127.0.0.1:${config.monitorPort}/healthz${config.jetstream ? "?js-enabled-only=true" : ""}`
  const deadline = performance.now() + config.readyTimeoutMs
  for (;;) {
    if (failure) throw failure
    if (await healthzOk(readyUrl)) {
      if (failure) throw failure
      return child
    }
    if (performance.now() > deadline) {
      child.kill("SIGKILL")
      await exited(child)
      throw new NatsServerStartFailed({
        message: `nats-server on port ${config.port} was not ready within ${config.readyTimeoutMs} ms (${readyUrl}):\n${log.text()}`,
      })
    }
    await sleep(50)
  }
}

const isAddressInUse = (error: unknown): boolean =>
  error instanceof NatsServerStartFailed && /address already in use/i.test(error.message)

class PrivateNatsServer implements NatsServerHandle {
  readonly url: string
  readonly monitorUrl: string
  private child: ChildProcess | undefined
  private readonly log: LogTail
  private readonly config: ServerConfig
  private readonly ownsStoreDir: boolean
  private stopping: Promise<void> | undefined
  readonly version: NatsServerVersion

  constructor(
    config: ServerConfig,
    child: ChildProcess,
    log: LogTail,
    ownsStoreDir: boolean,
    version: NatsServerVersion,
  ) {
    this.config = config
    this.child = child
    this.log = log
    this.ownsStoreDir = ownsStoreDir
    this.version = version
    this.url = `nats://127.0.0.1:${config.port}`
    this.monitorUrl = `http://127.0.0.1:${config.monitorPort}`
  }

  get port(): number {
    return this.config.port
  }
  get monitorPort(): number {
    return this.config.monitorPort
  }
  get storeDir(): string {
    return this.config.storeDir
  }
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined
  }
  get running(): boolean {
    const child = this.child
    return child !== undefined && child.exitCode === null && child.signalCode === null
  }

  logTail(): string {
    return this.log.text()
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    child.kill(signal)
    await exited(child)
  }

  private async terminate(): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS)
    child.kill("SIGTERM")
    await exited(child)
    clearTimeout(timer)
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.terminate()
      if (this.ownsStoreDir) await releaseTempDir(this.config.storeDir)
      else await releaseStoreDir(this.config.storeDir)
    })()
    return this.stopping
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new Error(`nats-server on port ${this.port} was stopped; start a new one`)
    await this.terminate()
    this.log.push(`--- restart on port ${this.port} ---\n`)
    this.child = await launch(this.config, this.log)
    if (!this.ownsStoreDir) await this.recordLock()
  }

  /** Notes in the store dir which server holds it, so another process does not start a second one. */
  recordLock(): Promise<void> {
    const serverPid = this.child?.pid
    return recordStoreLock(this.config.storeDir, {
      ownerPid: process.pid,
      ...(serverPid === undefined ? {} : { serverPid }),
      url: this.url,
    })
  }

  async waitHealthy(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    const url = `${this.monitorUrl}/healthz`
    const deadline = performance.now() + timeoutMs
    while (!(await healthzOk(url))) {
      if (performance.now() > deadline)
        throw new NatsServerStartFailed({
          message: `nats-server on port ${this.port} not healthy within ${timeoutMs} ms:\n${this.log.text()}`,
        })
      await sleep(100)
    }
  }
}

// ---- One server per store dir: two on the same JetStream store would corrupt it. ----

const STORE_LOCK = "mesh-nats-server.json"

interface StoreLock {
  readonly ownerPid: number
  readonly serverPid?: number
  readonly url?: string
}

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readStoreLock = async (path: string): Promise<StoreLock | undefined> => {
  try {
    return JSON.parse(await readFile(path, "utf8")) as StoreLock
  } catch {
    return undefined
  }
}

/** Claims `storeDir` for a new server; rejects when a live server (or a starting one elsewhere) holds it. */
const claimStoreDir = async (storeDir: string): Promise<void> => {
  const path = join(storeDir, STORE_LOCK)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify({ ownerPid: process.pid } satisfies StoreLock), { flag: "wx" })
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const held = await readStoreLock(path)
    const inUse =
      held !== undefined &&
      (held.serverPid !== undefined
        ? processAlive(held.serverPid)
        : held.ownerPid !== process.pid && processAlive(held.ownerPid))
    if (inUse) {
      throw new NatsServerStartFailed({
        message:
          `the JetStream store ${storeDir} is in use by nats-server pid ${held.serverPid ?? "(starting)"}` +
          ` of process ${held.ownerPid}${held.url ? ` at ${held.url}; set MESH_NATS_URL=${held.url} to share it` : ""}` +
          ", or use another data dir",
      })
    }
    await rm(path, { force: true }) // stale: its server is gone
  }
  throw new NatsServerStartFailed({ message: `could not claim the JetStream store ${storeDir}` })
}

const recordStoreLock = (storeDir: string, lock: StoreLock): Promise<void> =>
  writeFile(join(storeDir, STORE_LOCK), JSON.stringify(lock))

const releaseStoreDir = (storeDir: string): Promise<void> => rm(join(storeDir, STORE_LOCK), { force: true })

/** Starts a private nats-server from PATH on 127.0.0.1 and waits until it is ready (JetStream on by default). */
export const startNatsServer = async (options: NatsServerOptions = {}): Promise<NatsServerHandle> => {
  const binary = options.binary ?? "nats-server"
  const version = await natsServerVersion(binary)
  const ownsStoreDir = options.storeDir === undefined
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), "mesh-nats-")))
  if (ownsStoreDir) {
    ownTempDir(storeDir)
  } else {
    await mkdir(storeDir, { recursive: true })
    await claimStoreDir(storeDir)
  }
  // OS-chosen ports can be taken by someone else between close and bind: retry those only.
  const portsChosenHere = options.port === undefined || options.monitorPort === undefined
  for (let attempt = 1; ; attempt++) {
    const [port, monitorPort] = portsChosenHere ? await freePorts(2) : []
    const config: ServerConfig = {
      binary,
      port: options.port ?? port!,
      monitorPort: options.monitorPort ?? monitorPort!,
      storeDir,
      jetstream: options.jetstream ?? true,
      args: options.args ?? [],
      cluster: options.cluster,
      readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    }
    const log = new LogTail(LOG_TAIL_LINES)
    try {
      const child = await launch(config, log)
      const server = new PrivateNatsServer(config, child, log, ownsStoreDir, version)
      if (!ownsStoreDir) await server.recordLock()
      return server
    } catch (error) {
      if (portsChosenHere && attempt < 5 && isAddressInUse(error)) continue
      if (ownsStoreDir) await releaseTempDir(storeDir)
      else await releaseStoreDir(storeDir)
      throw error
    }
  }
}

/**
 * Polls until a meta leader answers and, with `replicas`, can place such a stream: account info
 * alone succeeds before the leader knows all peers ("no suitable peers for placement").
 */
const waitForMetaLeader = async (
  urls: ReadonlyArray<string>,
  replicas: number | undefined,
  timeoutMs: number,
): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  const connection = await connect({ servers: [...urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  try {
    const jsm = await jetstreamManager(connection, { timeout: 1_000, checkAPI: false })
    const probe = `mesh_probe_${process.pid}_${Math.floor(performance.now())}`
    let lastError: unknown
    while (performance.now() < deadline) {
      try {
        await jsm.getAccountInfo()
        if (replicas === undefined) return
        await jsm.streams.add({
          name: probe,
          subjects: [`${probe}.x`],
          storage: StorageType.Memory,
          num_replicas: replicas,
        })
        await jsm.streams.delete(probe)
        return
      } catch (error) {
        lastError = error
        await sleep(100)
      }
    }
    throw new NatsServerStartFailed({
      message: `JetStream cluster has no meta leader${replicas === undefined ? "" : ` able to place R${replicas}`} after ${timeoutMs} ms: ${String(lastError)}`,
    })
  } finally {
    await connection.close()
  }
}

/**
 * How long a new cluster may take until its meta leader can place a replicated stream. Each node is
 * up within seconds, but the leader places nothing until every peer has reported to it; on the 2-core
 * machine, under a full test run, that once took more than 10 s ("no suitable peers for placement").
 */
const CLUSTER_PLACEMENT_TIMEOUT_MS = 45_000

/**
 * Starts a private JetStream cluster (default 3 nodes, routes on free ports) and waits for a meta
 * leader that can place a stream on every node. A cluster that never gets there is stopped and
 * started once more on fresh ports (in a full test run, one never did within 45 s while a retry did
 * not need to wait: see the error's node logs if both fail); a cluster on a caller's store is not.
 */
export const startNatsCluster = async (options: NatsClusterOptions = {}): Promise<NatsClusterHandle> => {
  try {
    return await startNatsClusterOnce(options)
  } catch (error) {
    if (options.storeDir !== undefined || !(error instanceof NatsClusterNotPlaced)) throw error
    return startNatsClusterOnce(options)
  }
}

/** The cluster's nodes started, but its meta leader could not place a replicated stream in time. */
class NatsClusterNotPlaced extends Error {}

const startNatsClusterOnce = async (options: NatsClusterOptions): Promise<NatsClusterHandle> => {
  const size = options.size ?? 3
  const binary = options.binary ?? "nats-server"
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  const version = await natsServerVersion(binary)
  const ownsStoreDir = options.storeDir === undefined
  const root = options.storeDir ?? (await mkdtemp(join(tmpdir(), "mesh-nats-cluster-")))
  if (ownsStoreDir) ownTempDir(root)
  const ports = await freePorts(size * 3)
  const clusterPorts = ports.slice(2 * size)
  const clusterName = `mesh-${clusterPorts[0]}`
  const started = await Promise.allSettled(
    Array.from({ length: size }, (_, i) =>
      startNatsServer({
        binary,
        storeDir: join(root, `n${i}`),
        port: ports[i]!,
        monitorPort: ports[size + i]!,
        readyTimeoutMs,
        ...(options.args ? { args: options.args } : {}),
        cluster: {
          name: clusterName,
          serverName: `n${i}`,
          port: clusterPorts[i]!,
          routePorts: clusterPorts.filter((_, j) => j !== i),
        },
      }),
    ),
  )
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()))
    if (ownsStoreDir) {
      await releaseTempDir(root)
    }
  }
  const failed = started.find((r) => r.status === "rejected")
  if (failed) {
    await stop()
    throw failed.reason
  }
  const urls = nodes.map((n) => n.url)
  const handle: NatsClusterHandle = {
    nodes,
    urls,
    version,
    waitForMetaLeader: (timeoutMs = readyTimeoutMs) => waitForMetaLeader(urls, undefined, timeoutMs),
    stop,
  }
  try {
    await waitForMetaLeader(urls, size, Math.max(readyTimeoutMs, CLUSTER_PLACEMENT_TIMEOUT_MS))
  } catch (error) {
    const logs = nodes
      .map((n, i) => `--- n${i} (${n.url}):\n${n.logTail().split("\n").slice(-15).join("\n")}`)
      .join("\n")
    await stop()
    throw error instanceof NatsServerStartFailed
      ? new NatsClusterNotPlaced(`${error.message}\n${logs}`)
      : error
  }
  return handle
}
