import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { openPostgresPool, type ResolvedPostgres } from "@mesh/sql"
import pg from "pg"
import { findRepoRoot } from "./localStack.ts"
import type { NatsServerHandle } from "./natsServer.ts"

/** The private server of one test file; read its fields inside tests or hooks, not at import time. */
export interface NatsServerFixture {
  readonly url: string
  readonly server: NatsServerHandle
}

const NAMESPACE_PREFIX = /^[a-z0-9_-]*$/

/**
 * A fresh lowercase token `<prefix><12 hex>` (only [a-z0-9_-]) to prefix NATS subjects, stream
 * names and schema names so every test gets its own.
 */
export const uniqueNamespace = (prefix = "t"): string => {
  const lower = prefix.toLowerCase()
  if (!NAMESPACE_PREFIX.test(lower))
    throw new Error(`uniqueNamespace: prefix "${prefix}" must match [a-z0-9_-]*`)
  return `${lower}${randomBytes(6).toString("hex")}`
}

/** The Postgres for integration tests: env MESH_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test. */
export const postgresTestUrl = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const url = env.MESH_TEST_DATABASE_URL
  return url !== undefined && url !== "" ? url : "postgres://postgres@127.0.0.1:5432/test"
}

/** A private schema in the test database; `close` drops it (cascade) and ends the pool. */
export interface PostgresTestSchema extends ResolvedPostgres {
  readonly schema: string
  /** Connection string whose sessions use `schema` as search_path, for code that takes a URL. */
  readonly url: string
}

/** Appends `options=-c search_path=<schema>` to a connection string. */
export const withSearchPath = (url: string, schema: string): string => {
  const parsed = new URL(url)
  parsed.searchParams.set("options", `-c search_path=${schema}`)
  return parsed.toString()
}

/**
 * Creates a uniquely named schema (`<prefix><hex>`) in the test database and returns a pool whose
 * sessions resolve unqualified names there, so test files never see each other's tables.
 */
export const freshPostgresSchema = async (
  options: { readonly url?: string; readonly prefix?: string } = {},
): Promise<PostgresTestSchema> => {
  const baseUrl = options.url ?? postgresTestUrl()
  const schema = uniqueNamespace(options.prefix ?? "t").replaceAll("-", "_")
  await runStatement(baseUrl, `create schema "${schema}"`)
  const url = withSearchPath(baseUrl, schema)
  const pool = openPostgresPool(url, { max: 5 })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await pool.close()
      await runStatement(baseUrl, `drop schema if exists "${schema}" cascade`)
    })()
    return closing
  }
  return { ...pool, url, schema, close }
}

const runStatement = async (url: string, sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/**
 * The Node that runs the workspace's TypeScript directly: this process's when it is 24 or later
 * (vitest under `pnpm`), else the workspace's pinned `node` package. Tests spawn children with it.
 */
export const workspaceNode = (): string =>
  Number(process.versions.node.split(".")[0]) >= 24
    ? process.execPath
    : join(findRepoRoot(), "node_modules", ".bin", "node")

/** How long {@link waitFor} polls, and what ends it early or explains a timeout. */
export interface WaitForOptions {
  /** Default 30 s. */
  readonly timeoutMs?: number
  /** Checked each round: a message ends the wait at once with it (a process that exited, say). */
  readonly stopIf?: () => string | undefined
  /** Appended to the timeout's message (the tail of a process's log, say). */
  readonly detail?: () => string
}

/**
 * Polls `probe` every 100 ms until it answers something other than undefined, and returns that. A
 * probe that throws has not answered yet. Fails naming `what` when the time is up.
 */
export const waitFor = async <A>(
  what: string,
  probe: () => Promise<A | undefined>,
  options: WaitForOptions = {},
): Promise<A> => {
  const timeoutMs = options.timeoutMs ?? 30_000
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    const stop = options.stopIf?.()
    if (stop !== undefined) throw new Error(stop)
    if (performance.now() > deadline) {
      const detail = options.detail?.()
      throw new Error(`${what}: not reached in ${timeoutMs} ms${detail === undefined ? "" : `\n${detail}`}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
