import { parentPort, workerData } from "node:worker_threads"
import { openPGliteCluster } from "./pgliteCluster.ts"
import { makeStatementRunner } from "./pgliteStatements.ts"
import { lowerThisThread } from "./threadPriority.ts"

// PGlite's own thread (see pgliteThread.ts): it opens the database named in its data, answers
// each statement it is sent in turn, and closes the database when asked, then ends.

/** What the thread is started with. */
export interface PGliteThreadData {
  /** Where the database keeps its files; undefined for one in memory. */
  readonly dataDir: string | undefined
  /** Where the initialised clusters are kept (pgliteCluster.ts), when not the default. */
  readonly clusters: string | undefined
  /** The nice value the thread takes once the database has opened; undefined keeps the process's. */
  readonly niceness: number | undefined
}

/** A message to the thread: a statement with its parameters, or the request to close. */
export type PGliteRequest =
  | {
      readonly id: number
      readonly sql: string
      readonly params: ReadonlyArray<unknown>
      /** Statements without parameters to run first, in order (a transaction's begin and search path). */
      readonly before?: ReadonlyArray<string>
    }
  | { readonly id: number; readonly close: true }

/**
 * The thread's answer under the request's id: the statement's rows and affected-row count, the
 * database closed, or the error with its own fields (a Postgres error's SQLSTATE `code`, `detail`,
 * `constraint`...), which a structured clone of the error itself would drop.
 */
export type PGliteAnswer =
  | { readonly id: number; readonly rows: ReadonlyArray<unknown>; readonly affectedRows: number | undefined }
  | { readonly id: number; readonly closed: true }
  | { readonly id: number; readonly error: ThrownError }

/** The thread is ready, or could not open the database: sent once, first, with id -1. */
export type PGliteOpened =
  | { readonly id: -1; readonly opened: true }
  | { readonly id: -1; readonly error: ThrownError }

/** An error as data: its name and message, and every own field it carries. */
export interface ThrownError {
  readonly name: string
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>>
}

const thrown = (error: unknown): ThrownError => {
  const fields: Record<string, unknown> = {}
  if (typeof error === "object" && error !== null) {
    for (const [key, value] of Object.entries(error)) {
      // Only what survives the copy to the other thread: a field holding a function or a class
      // instance would fail the whole answer.
      if (value === null || ["string", "number", "boolean", "undefined"].includes(typeof value))
        fields[key] = value
    }
  }
  if (error instanceof Error) return { name: error.name, message: error.message, fields }
  // Emscripten's file system throws plain objects (an errno and a code, no message).
  const described = typeof error === "object" && error !== null ? JSON.stringify(fields) : String(error)
  return { name: "Error", message: described, fields }
}

const port = parentPort
if (port === null) throw new Error("pgliteWorker.ts runs as a worker thread, not as a script")
const data = workerData as PGliteThreadData

try {
  const pglite = await import("@electric-sql/pglite")
  const client = await openPGliteCluster(
    pglite,
    data.dataDir,
    ...(data.clusters === undefined ? [] : [data.clusters]),
  )
  await client.waitReady
  const statements = makeStatementRunner(pglite, client)
  // Lowered once the database has opened: threads started meanwhile (libuv's pool, which copying a
  // cluster may be the first to use) keep the process's priority.
  if (data.niceness !== undefined) lowerThisThread(data.niceness)
  port.on("message", (request: PGliteRequest) => {
    if ("close" in request) {
      // After every statement sent before it: execProtocol takes none of the locks PGlite's close waits on.
      void statements.close().then(
        () => {
          port.postMessage({ id: request.id, closed: true } satisfies PGliteAnswer)
          port.close()
        },
        (error: unknown) => port.postMessage({ id: request.id, error: thrown(error) } satisfies PGliteAnswer),
      )
      return
    }
    // One statement at a time, in the order asked (see pgliteStatements.ts).
    statements.query(request.sql, request.params, request.before).then(
      (result) => {
        try {
          port.postMessage({
            id: request.id,
            rows: result.rows,
            affectedRows: result.affectedRows,
          } satisfies PGliteAnswer)
        } catch (error) {
          // Rows no structured clone can copy fail their statement, not the thread.
          port.postMessage({ id: request.id, error: thrown(error) } satisfies PGliteAnswer)
        }
      },
      (error: unknown) => port.postMessage({ id: request.id, error: thrown(error) } satisfies PGliteAnswer),
    )
  })
  port.postMessage({ id: -1, opened: true } satisfies PGliteOpened)
} catch (error) {
  const why = thrown(error)
  const where = data.dataDir === undefined ? "in memory" : `in ${data.dataDir}`
  port.postMessage({
    id: -1,
    error: { ...why, message: `PGlite could not open a database ${where}: ${why.message}` },
  } satisfies PGliteOpened)
}
