/**
 * A private PostgreSQL server for tests that kill, restart or otherwise abuse their database, the
 * way `natsServer.ts` gives them a private nats-server. Never the shared test database.
 *
 * The binaries (`initdb`, `postgres`) come from, in order: `binDir`, `MESH_POSTGRES_BIN_DIR`, the
 * newest `/usr/lib/postgresql/<major>/bin` (Debian and Ubuntu's `postgresql` package installs them
 * there, off the PATH), `pg_config --bindir` (macOS: Homebrew's keg-only `postgresql@16` or
 * Postgres.app, with its `bin` on the PATH), and last the PATH itself. Postgres refuses to run as
 * root, so under root (CI containers) both run as the `postgres` OS user through `setpriv`, and
 * the data dir is handed to that user.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { chown, mkdir, mkdtemp, readdir, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Schema } from "effect"
import pg from "pg"
import { freePorts } from "./natsServer.ts"
import {
  exited,
  isRunning,
  LogTail,
  ownProcess,
  ownTempDir,
  releaseTempDir,
  sleep,
} from "./ownedProcesses.ts"

/** The PostgreSQL binaries could not be found or run. */
export class PostgresServerNotFound extends Schema.TaggedError<PostgresServerNotFound>()(
  "PostgresServerNotFound",
  { message: Schema.String },
) {}

/** initdb failed, or a postgres process exited early or did not accept connections in time. */
export class PostgresServerStartFailed extends Schema.TaggedError<PostgresServerStartFailed>()(
  "PostgresServerStartFailed",
  { message: Schema.String },
) {}

/** Options for {@link startPostgresServer}. */
export interface PostgresServerOptions {
  /** Data directory; a fresh temp dir (removed on stop) when omitted. A given dir is initialised if empty, and kept. */
  readonly dataDir?: string
  /** Port on 127.0.0.1; a free one chosen by the OS when omitted. */
  readonly port?: number
  /** The database `url` names, created on first start (default "postgres", which always exists). */
  readonly database?: string
  /** Folder holding `initdb` and `postgres`; found as the module comment says when omitted. */
  readonly binDir?: string
  /**
   * Keep `fsync` and `full_page_writes` on (default off, for speed). Off loses nothing when the
   * server is SIGKILLed, since the kernel still holds every page written; only an OS crash or a
   * power cut would. `synchronous_commit` stays on either way: with it off a commit returns before
   * its WAL leaves shared memory, and a SIGKILL would lose acknowledged commits.
   */
  readonly durable?: boolean
  /** Extra server settings, passed as `-c name=value`. */
  readonly settings?: Readonly<Record<string, string>>
  /** How long to wait for initdb and for the server to accept connections (default 30 000 ms each). */
  readonly readyTimeoutMs?: number
}

/** A private PostgreSQL server started by this process. */
export interface PostgresServerHandle {
  /** `postgres://postgres@127.0.0.1:<port>/<database>`, trust auth. */
  readonly url: string
  readonly port: number
  readonly database: string
  readonly dataDir: string
  /** Pid of the current postmaster (changes on restart); undefined while stopped. */
  readonly pid: number | undefined
  /** As `postgres --version` prints it, e.g. "15.20". */
  readonly version: string
  /** Whether the postmaster is currently alive. */
  readonly running: boolean
  /** The last lines the server logged. */
  logTail(): string
  /** Fast shutdown (SIGINT), waits for exit (kill after 10 s); removes a temp data dir. Idempotent. */
  stop(): Promise<void>
  /**
   * Sends a signal (default SIGKILL) and waits for exit; keeps the data dir, for crash tests. A
   * SIGKILL goes to the postmaster and every backend and helper it forked, as when a node dies:
   * the port is free and no process holds the shared memory when this resolves.
   */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Stops gracefully if running, then starts again on the same port and data dir (crash recovery first, after a kill). */
  restart(): Promise<void>
}

const DEFAULT_READY_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 10_000
const SUPERUSER = "postgres"

const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly timeoutMs?: number } = {},
): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs ?? 10_000, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(`${stdout}`),
    )
  })

const isDirectory = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/** Where initdb and postgres live, or undefined to take them from the PATH. */
const findBinDir = async (explicit: string | undefined): Promise<string | undefined> => {
  if (explicit !== undefined) return explicit
  const fromEnv = process.env.MESH_POSTGRES_BIN_DIR
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  const debian = "/usr/lib/postgresql"
  const majors = (await readdir(debian).catch(() => [] as Array<string>))
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a))
  for (const major of majors) {
    const dir = join(debian, major, "bin")
    if (await isDirectory(dir)) return dir
  }
  const fromPgConfig = await run("pg_config", ["--bindir"]).catch(() => "")
  return fromPgConfig.trim() === "" ? undefined : fromPgConfig.trim()
}

const binary = (binDir: string | undefined, name: string): string =>
  binDir === undefined ? name : join(binDir, name)

const notFound = (what: string, cause: string): PostgresServerNotFound =>
  new PostgresServerNotFound({
    message:
      `cannot run ${what} (${cause}). Install PostgreSQL (Debian: apt-get install postgresql, which puts it in ` +
      "/usr/lib/postgresql/<major>/bin; macOS: brew install postgresql@16) or set MESH_POSTGRES_BIN_DIR to " +
      "the folder holding initdb and postgres.",
  })

/** The OS user to run as: ourselves, or `postgres` when we are root (Postgres refuses root). */
interface RunAs {
  readonly uid: number
  readonly gid: number
  /** Prefix of every command line: `setpriv …` under root, nothing otherwise. */
  readonly prefix: ReadonlyArray<string>
}

const runAsFor = async (): Promise<RunAs | undefined> => {
  if (process.getuid?.() !== 0) return undefined
  const id = async (flag: string) => Number((await run("id", [flag, SUPERUSER])).trim())
  const [uid, gid] = await Promise.all([id("-u"), id("-g")]).catch((error: unknown) => {
    throw notFound(`PostgreSQL as root`, `there is no "${SUPERUSER}" OS user to run it as: ${String(error)}`)
  })
  return {
    uid,
    gid,
    prefix: ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--"],
  }
}

const command = (runAs: RunAs | undefined, file: string, args: ReadonlyArray<string>) =>
  runAs === undefined
    ? { file, args: [...args] }
    : { file: runAs.prefix[0]!, args: [...runAs.prefix.slice(1), file, ...args] }

const postgresVersion = async (binDir: string | undefined): Promise<string> => {
  const postgres = binary(binDir, "postgres")
  const output = await run(postgres, ["--version"]).catch((error: unknown) => {
    throw notFound(postgres, error instanceof Error ? error.message.split("\n")[0]! : String(error))
  })
  const match = /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output)
  if (!match) throw notFound(postgres, `unrecognised --version output "${output.trim()}"`)
  return match[1]!
}

/** Runs initdb into `dataDir` unless it already holds a cluster. */
const initialise = async (
  binDir: string | undefined,
  runAs: RunAs | undefined,
  dataDir: string,
  timeoutMs: number,
): Promise<void> => {
  const existing = await readdir(dataDir).catch(() => undefined)
  if (existing?.includes("PG_VERSION")) return
  if (existing !== undefined && existing.length > 0)
    throw new PostgresServerStartFailed({
      message: `${dataDir} is neither empty nor a PostgreSQL data directory`,
    })
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  if (runAs !== undefined) await chown(dataDir, runAs.uid, runAs.gid)
  const { file, args } = command(runAs, binary(binDir, "initdb"), [
    "-D",
    dataDir,
    "-U",
    SUPERUSER,
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C",
    // No fsync of the fresh files: initdb's own flush is half its run time, and a test cluster
    // that an OS crash corrupts is simply made again.
    "--no-sync",
  ])
  // The cwd must be readable by the server's user.
  await run(file, args, { cwd: dataDir, timeoutMs }).catch((error: unknown) => {
    const text = error instanceof Error ? error.message : String(error)
    throw /ENOENT/.test(text)
      ? notFound(binary(binDir, "initdb"), text.split("\n")[0]!)
      : new PostgresServerStartFailed({ message: `initdb of ${dataDir} failed: ${text}` })
  })
}

interface ServerConfig {
  readonly binDir: string | undefined
  readonly runAs: RunAs | undefined
  readonly dataDir: string
  readonly port: number
  readonly durable: boolean
  readonly settings: Readonly<Record<string, string>>
  readonly readyTimeoutMs: number
}

const serverArgs = (config: ServerConfig): Array<string> => {
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    // No Unix socket: the default folder is the shared server's, and TCP is what clients use.
    unix_socket_directories: "",
    ...(config.durable ? {} : { fsync: "off", full_page_writes: "off" }),
    ...config.settings,
  }
  const args = ["-D", config.dataDir, "-p", String(config.port)]
  for (const [name, value] of Object.entries(settings)) args.push("-c", `${name}=${value}`)
  return args
}

const urlOf = (port: number, database: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`

/** Connects and runs `select 1`; false while the server is down or still recovering. */
const answers = async (url: string): Promise<boolean> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 })
  client.on("error", () => undefined)
  try {
    await client.connect()
    await client.query("select 1")
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** Spawns the postmaster and resolves once it accepts queries; rejects (after killing it) otherwise. */
const launch = async (config: ServerConfig, log: LogTail): Promise<ChildProcess> => {
  const { file, args } = command(config.runAs, binary(config.binDir, "postgres"), serverArgs(config))
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], cwd: config.dataDir })
  child.stdout?.setEncoding("utf8").on("data", (d: string) => log.push(d))
  child.stderr?.setEncoding("utf8").on("data", (d: string) => log.push(d))

  let failure: Error | undefined
  child.once("error", (error) => {
    failure = notFound(file, error.message)
  })
  child.once("exit", (code, signal) => {
    failure ??= new PostgresServerStartFailed({
      message: `postgres on port ${config.port} exited during startup (code ${code}, signal ${signal}):\n${log.text()}`,
    })
  })
  if (child.pid !== undefined) ownProcess(child)

  const url = urlOf(config.port, SUPERUSER)
  const deadline = performance.now() + config.readyTimeoutMs
  for (;;) {
    if (failure) throw failure
    if (await answers(url)) {
      if (failure) throw failure
      return child
    }
    if (performance.now() > deadline) {
      await killTree(child)
      throw new PostgresServerStartFailed({
        message: `postgres on port ${config.port} did not accept connections within ${config.readyTimeoutMs} ms:\n${log.text()}`,
      })
    }
    await sleep(50)
  }
}

const childPids = async (pid: number): Promise<Array<number>> => {
  // pgrep exits 1 when there are none.
  const output = await run("pgrep", ["-P", String(pid)]).catch(() => "")
  return output
    .split(/\s+/)
    .filter((s) => s !== "")
    .map(Number)
}

/** Gone, or a zombie (which holds neither port nor shared memory, and may never be reaped in a container). */
const isGone = async (pid: number): Promise<boolean> => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH"
  }
  const state = await run("ps", ["-o", "stat=", "-p", String(pid)]).catch(() => "")
  return state.trim() === "" || state.trim().startsWith("Z")
}

const sendSignal = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

/**
 * SIGKILLs the postmaster and everything it forked. Its children lead their own process groups
 * (Postgres makes each one a group leader), so a group kill would miss them: the postmaster is
 * stopped first so that it cannot fork while its children are listed.
 */
const killTree = async (child: ChildProcess): Promise<void> => {
  const pid = child.pid
  if (pid === undefined || !isRunning(child)) return
  sendSignal(pid, "SIGSTOP")
  const children = await childPids(pid)
  for (const c of children) sendSignal(c, "SIGKILL")
  child.kill("SIGKILL")
  await exited(child)
  const deadline = performance.now() + 5_000
  for (const c of children) {
    while (!(await isGone(c)) && performance.now() < deadline) await sleep(20)
  }
}

class PrivatePostgresServer implements PostgresServerHandle {
  readonly url: string
  readonly database: string
  readonly version: string
  private child: ChildProcess | undefined
  private readonly log: LogTail
  private readonly config: ServerConfig
  private readonly ownedDir: string | undefined
  private stopping: Promise<void> | undefined

  constructor(
    config: ServerConfig,
    child: ChildProcess,
    log: LogTail,
    ownedDir: string | undefined,
    version: string,
    database: string,
  ) {
    this.config = config
    this.child = child
    this.log = log
    this.ownedDir = ownedDir
    this.version = version
    this.database = database
    this.url = urlOf(config.port, database)
  }

  get port(): number {
    return this.config.port
  }
  get dataDir(): string {
    return this.config.dataDir
  }
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined
  }
  get running(): boolean {
    return isRunning(this.child)
  }

  logTail(): string {
    return this.log.text()
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    this.log.push(`--- ${signal} ---\n`)
    if (signal === "SIGKILL") return killTree(child)
    child.kill(signal)
    await exited(child)
  }

  private async terminate(): Promise<void> {
    const child = this.child
    if (!child || !this.running) return
    const timer = setTimeout(() => void killTree(child), STOP_GRACE_MS)
    // SIGINT is Postgres's fast shutdown: roll back open transactions, checkpoint, exit.
    child.kill("SIGINT")
    await exited(child)
    clearTimeout(timer)
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.terminate()
      if (this.ownedDir !== undefined) await releaseTempDir(this.ownedDir)
    })()
    return this.stopping
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new Error(`postgres on port ${this.port} was stopped; start a new one`)
    await this.terminate()
    this.log.push(`--- restart on port ${this.port} ---\n`)
    this.child = await launch(this.config, this.log)
  }
}

const DATABASE_NAME = /^[a-z_][a-z0-9_]*$/

const createDatabase = async (port: number, database: string): Promise<void> => {
  const client = new pg.Client({ connectionString: urlOf(port, SUPERUSER) })
  client.on("error", () => undefined)
  await client.connect()
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [database])
    if (found.rowCount === 0) await client.query(`create database "${database}"`)
  } finally {
    await client.end()
  }
}

const isAddressInUse = (error: unknown): boolean =>
  error instanceof PostgresServerStartFailed && /address already in use/i.test(error.message)

/** Starts a private PostgreSQL server on 127.0.0.1 (trust auth) and waits until it accepts queries. */
export const startPostgresServer = async (
  options: PostgresServerOptions = {},
): Promise<PostgresServerHandle> => {
  const database = options.database ?? SUPERUSER
  if (!DATABASE_NAME.test(database))
    throw new PostgresServerStartFailed({
      message: `database name "${database}" must match ${DATABASE_NAME}`,
    })
  const binDir = await findBinDir(options.binDir)
  const version = await postgresVersion(binDir)
  const runAs = await runAsFor()
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  const ownedDir = options.dataDir === undefined ? await mkdtemp(join(tmpdir(), "mesh-pg-")) : undefined
  const dataDir = options.dataDir ?? join(ownedDir!, "data")
  if (ownedDir !== undefined) {
    ownTempDir(ownedDir)
    if (runAs !== undefined) await chown(ownedDir, runAs.uid, runAs.gid)
  }
  try {
    await initialise(binDir, runAs, dataDir, readyTimeoutMs)
    // OS-chosen ports can be taken by someone else between close and bind: retry those only.
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePorts(1))[0]!
      const config: ServerConfig = {
        binDir,
        runAs,
        dataDir,
        port,
        durable: options.durable ?? false,
        settings: options.settings ?? {},
        readyTimeoutMs,
      }
      const log = new LogTail()
      try {
        const child = await launch(config, log)
        const server = new PrivatePostgresServer(config, child, log, ownedDir, version, database)
        if (database !== SUPERUSER) {
          await createDatabase(port, database).catch(async (error: unknown) => {
            await server.stop()
            throw error
          })
        }
        return server
      } catch (error) {
        if (options.port === undefined && attempt < 5 && isAddressInUse(error)) continue
        throw error
      }
    }
  } catch (error) {
    if (ownedDir !== undefined) await releaseTempDir(ownedDir)
    throw error
  }
}
