import type { AgentWorker } from "@mesh/kernel"
import { Clock, Duration, Effect, Result, Schema } from "effect"
import { CustomerOpsSettings } from "../config.ts"
import type { CustomerOpsDefs } from "../handlers/catalog.ts"
import { ingestStorefrontEvent } from "./ingestion.ts"
import { fetchOrderEvents, isPassing } from "./orderEventsFeed.ts"
import { cursorsOf, readCursor, writeCursor } from "./storefrontCursors.ts"
import { StorefrontEvent } from "./storefrontOrder.ts"

const decodeEvent = Schema.decodeUnknownResult(StorefrontEvent)

/** What /status shows of the reconciliation. */
interface ReconciliationStatus {
  /** Why it does nothing, when it is off. */
  readonly off: string | null
  readonly tenantId: string | null
  /** The listing's position applied so far. */
  readonly cursor: number | null
  readonly lastPollAt: string | null
  /** Events that recorded something; the rest were duplicates or older snapshots. */
  readonly recorded: number
  /** Events skipped because they do not decode or their order refuses them. */
  readonly skipped: number
  readonly lastError: string | null
}

/**
 * Reconciliation with the storefront: every `MESH_STOREFRONT_RECONCILE_MS` the listing of its order
 * events after the cursor is read, page by page, and each event is taken as a webhook would be; so an
 * event whose webhooks were all lost still lands, and one that came by webhook is the same request
 * and records nothing twice. The cursor moves in the read-model schema once a page is applied, so a
 * restart resumes where it stood (an interrupted page is applied again, without effect).
 *
 * An event that does not decode, or whose order refuses it, is skipped with a warning rather than
 * stopping every later order behind it: the order's next event carries its whole snapshot again.
 * The storefront being away fails the part for the supervisor to try again after a backoff, the
 * agent staying ready; a refusal or an answer other than documented is logged and asked again at the
 * next poll. Either way a storefront's problem never makes the agent unready for its webhooks and
 * tickets.
 */
export const storefrontReconciliationWorker = (): AgentWorker<CustomerOpsDefs, CustomerOpsSettings> => {
  let status: ReconciliationStatus = {
    off: null,
    tenantId: null,
    cursor: null,
    lastPollAt: null,
    recorded: 0,
    skipped: 0,
    lastError: null,
  }
  const note = (patch: Partial<ReconciliationStatus>) =>
    Effect.sync(() => {
      status = { ...status, ...patch }
    })
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

  return {
    name: "storefront-reconciliation",
    run: (context, until) =>
      Effect.gen(function* () {
        const { url, tenantId, reconcileEveryMs, timeoutMs } = (yield* CustomerOpsSettings).storefront
        if (url === null || tenantId === null || reconcileEveryMs === 0) {
          const off = url === null ? "MESH_STOREFRONT_URL is not set" : "MESH_STOREFRONT_RECONCILE_MS is 0"
          yield* note({ off })
          yield* Effect.logInfo(`storefront reconciliation is off: ${off}`)
          return yield* until
        }
        const cursors = cursorsOf(context.db, context.namespace, context.agent)
        const skip = (seq: number | string, why: string) =>
          Effect.logWarning(`storefront event ${seq} skipped: ${why}`).pipe(
            Effect.andThen(note({ skipped: status.skipped + 1 })),
          )

        const applyPage = Effect.fn("StorefrontReconciliation.applyPage")(function* (after: number) {
          const page = yield* fetchOrderEvents(url, after, timeoutMs)
          for (const raw of page.events) {
            const decoded = decodeEvent(raw)
            if (Result.isFailure(decoded)) {
              const seq = (raw as { seq?: unknown } | null)?.seq
              yield* skip(
                typeof seq === "number" ? seq : "?",
                decoded.failure.message.replace(/\s*\n\s*/g, " "),
              )
              continue
            }
            const event = decoded.success
            const ingested = yield* ingestStorefrontEvent(context, tenantId, event, "schedule").pipe(
              Effect.map((taken) => taken.recorded.length),
              Effect.catchIf(
                (error) =>
                  (error._tag === "CommandError" && error.reason._tag === "InvalidCommand") ||
                  (error._tag === "RequestLogError" && error.reason._tag === "RequestIdReused"),
                (error) => Effect.as(skip(`${event.seq} (${event.id})`, error.message), 0),
              ),
            )
            if (ingested > 0) yield* note({ recorded: status.recorded + 1 })
          }
          if (page.next !== after) {
            const at = yield* now
            yield* Effect.tryPromise(() => writeCursor(cursors, tenantId, page.next, at))
          }
          yield* note({ cursor: page.next, lastPollAt: yield* now, lastError: null })
          // A page that says more but moves nowhere waits like the last one, rather than spin.
          return { next: page.next, more: page.more && page.next > after }
        })

        const poll = Effect.gen(function* () {
          let after = yield* Effect.tryPromise(() => readCursor(cursors, tenantId))
          yield* note({ tenantId, cursor: after })
          while (true) {
            const page = yield* applyPage(after).pipe(
              Effect.catchTag("StorefrontError", (error) =>
                isPassing(error)
                  ? Effect.andThen(note({ lastError: error.message }), Effect.fail(error))
                  : Effect.logWarning(`storefront reconciliation: ${error.message}`).pipe(
                      Effect.andThen(note({ lastError: error.message })),
                      Effect.as({ next: after, more: false }),
                    ),
              ),
            )
            after = page.next
            if (!page.more) yield* Effect.sleep(Duration.millis(reconcileEveryMs))
          }
        })
        yield* Effect.raceFirst(poll, until)
      }),
    status: () => Effect.sync(() => status),
    // Nothing the agent serves waits on it: the storefront being away leaves the agent ready.
    readyWhileRetrying: true,
  }
}
