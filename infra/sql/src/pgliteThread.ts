import { Worker } from "node:worker_threads"
import type {
  PGliteAnswer,
  PGliteOpened,
  PGliteRequest,
  PGliteThreadData,
  ThrownError,
} from "./pgliteWorker.ts"

// An agent's embedded database runs on a thread of its own. PGlite is Postgres compiled to
// WebAssembly, and a statement runs to its end before its caller's thread does anything else: on
// the shop's day customer ops ran 18,000 of them, about a third of its event loop's busy time, in
// runs of 0.2-5 ms that held up whatever the agent had waiting meanwhile (the next delivery, the
// NATS reply a reaction waited on). On its own thread a statement runs beside them; the agent's
// thread only sends it and takes the rows back, about 0.1 ms more per statement. Measured on the
// full day, two plays each way: hop p99 134-170 ms before, 75-91 after; a customer message's
// action p99 433-458 ms before, 253-289 after; customer ops' CPU 3-7 % more, the day 1-3 s longer.

/** The one session of a PGlite database: a statement at a time, in the order sent. */
export interface PGliteSession {
  readonly query: <R>(
    sql: string,
    params: ReadonlyArray<unknown>,
    /** Statements without parameters the thread runs first, in the same hand-over; the first to fail fails this one. */
    before?: ReadonlyArray<string>,
  ) => Promise<{ readonly rows: Array<R>; readonly affectedRows?: number | undefined }>
  /** Closes the database and ends its thread. Idempotent. */
  readonly close: () => Promise<void>
  /**
   * Settles with the reason when the database is lost without being closed: its thread died (out
   * of memory, a crash in the WebAssembly) or said what could not be read. Every statement fails
   * from then on, and nothing in this process can open the database again beside the dead one.
   * Never settles for a database that is closed.
   */
  readonly lost: Promise<Error>
}

/** How to open a PGlite thread. */
export interface PGliteThreadOptions {
  /** Where the initialised clusters are kept (pgliteCluster.ts's default when left out). */
  readonly clusters?: string
  /**
   * The thread's nice value once the database has opened (Linux, 1-19): it yields the CPU to the
   * process's other threads. Never raised: a thread already below it stays. Left out, it runs at the
   * process's priority. See `EMBEDDED_DATABASE_NICENESS`.
   */
  readonly niceness?: number
  /** For tests: the thread, once started, e.g. to end it the way a crash would. */
  readonly started?: (thread: Worker) => void
}

/** The error the thread caught, as its own class would have it: name, message and fields (a SQLSTATE `code`). */
const rebuilt = (error: ThrownError): Error =>
  Object.assign(new Error(error.message), error.fields, { name: error.name })

/**
 * Opens PGlite on `dataDir` (in memory when undefined) on a thread of its own, from the
 * initialised cluster under `clusters` (pgliteCluster.ts). Resolves once the database answers;
 * rejects with the thread's error when it cannot open it.
 */
export const openPGliteThread = (
  dataDir: string | undefined,
  options: PGliteThreadOptions = {},
): Promise<PGliteSession> =>
  new Promise((resolveOpen, rejectOpen) => {
    const worker = new Worker(new URL("./pgliteWorker.ts", import.meta.url), {
      // The OS thread's name too: `top -H` and /proc/<pid>/task show the database's share of the CPU.
      name: "pglite",
      workerData: {
        dataDir,
        clusters: options.clusters,
        niceness: options.niceness,
      } satisfies PGliteThreadData,
    })
    let declareLost!: (reason: Error) => void
    const lost = new Promise<Error>((resolve) => {
      declareLost = resolve
    })
    const pending = new Map<number, { resolve: (answer: PGliteAnswer) => void; reject: (e: Error) => void }>()
    let nextId = 0
    let opened = false
    // Set once the thread can answer no more: every later statement fails with it at once.
    let ended: Error | undefined
    let closing: Promise<void> | undefined

    const endWith = (error: Error) => {
      if (ended === undefined) {
        ended = error
        // A database that opened and was not asked to close is lost; one that never opened is
        // the open's failure, told to whoever opened it.
        if (opened && closing === undefined) declareLost(error)
      }
      for (const request of pending.values()) request.reject(ended)
      pending.clear()
      if (!opened) rejectOpen(ended)
    }
    worker.on("message", (answer: PGliteAnswer | PGliteOpened) => {
      if (answer.id === -1) {
        if ("error" in answer) {
          endWith(rebuilt(answer.error))
          void worker.terminate()
          return
        }
        opened = true
        // An idle database never keeps its process alive; one owing an answer does.
        worker.unref()
        resolveOpen(session)
        return
      }
      const request = pending.get(answer.id)
      if (request === undefined) return
      pending.delete(answer.id)
      if (pending.size === 0) worker.unref()
      request.resolve(answer as PGliteAnswer)
    })
    // A thread that dies (out of memory, a crash in the WebAssembly) fails what it was asked and
    // everything after: the database is gone with it, as it would be with the process.
    worker.on("error", (error) =>
      endWith(new Error(`PGlite's thread failed: ${error.message}`, { cause: error })),
    )
    // An answer that cannot be read here names no request: nothing the thread says can be trusted to
    // match its request any more, so the session ends rather than leave a statement waiting for ever.
    worker.on("messageerror", (error) => {
      endWith(
        new Error(`an answer from PGlite's thread could not be read: ${error.message}`, { cause: error }),
      )
      void worker.terminate()
    })
    worker.on("exit", (code) =>
      endWith(
        new Error(
          closing === undefined
            ? `PGlite's thread ended unasked (exit code ${code})`
            : "the PGlite database is closed",
        ),
      ),
    )

    // The test hook sees the thread once it is watched; one that throws ends the thread it was given.
    try {
      options.started?.(worker)
    } catch (error) {
      void worker.terminate()
      rejectOpen(error)
    }

    const ask = (
      request:
        | {
            readonly sql: string
            readonly params: ReadonlyArray<unknown>
            readonly before?: ReadonlyArray<string>
          }
        | { readonly close: true },
    ): Promise<PGliteAnswer> =>
      new Promise((resolve, reject) => {
        if (ended !== undefined) return reject(ended)
        // Once closing, nothing more is sent: PGlite would run a statement that came after its
        // close while it shuts down. (The close's own request is sent before `closing` is set.)
        if (closing !== undefined) return reject(new Error("the PGlite database is closed"))
        const id = nextId++
        try {
          // A parameter no structured clone can copy (a function, a symbol) throws here, before
          // anything was sent: the statement fails alone. kysely's parameters are plain values,
          // dates, byte arrays and JSON text, which cross whole.
          worker.postMessage({ ...request, id } as PGliteRequest)
        } catch (error) {
          return reject(
            new Error(
              `a parameter of this statement cannot be sent to PGlite's thread (${error instanceof Error ? error.message : String(error)}): ${"sql" in request ? request.sql.slice(0, 200) : "close"}`,
              { cause: error },
            ),
          )
        }
        pending.set(id, { resolve, reject })
        worker.ref()
      })

    const session: PGliteSession = {
      query: async <R>(sql: string, params: ReadonlyArray<unknown>, before?: ReadonlyArray<string>) => {
        const answer = await ask(
          before === undefined || before.length === 0 ? { sql, params } : { sql, params, before },
        )
        if ("error" in answer) throw rebuilt(answer.error)
        if (!("rows" in answer))
          throw new Error(`PGlite's thread answered a statement with ${JSON.stringify(answer)}`)
        return { rows: answer.rows as Array<R>, affectedRows: answer.affectedRows }
      },
      close: () => {
        closing ??= (async () => {
          if (ended === undefined) {
            const answer = await ask({ close: true }).catch(() => undefined)
            if (answer !== undefined && "error" in answer) {
              await worker.terminate()
              throw rebuilt(answer.error)
            }
          }
          await worker.terminate()
        })()
        return closing
      },
      lost,
    }
  })
