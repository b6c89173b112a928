import { messageOf } from "@mesh/eventlog"
import { Effect, Result, Schema } from "effect"
import { OrderEventsPage } from "./storefrontOrder.ts"

/** Events asked for per page of the listing. */
export const PAGE_LIMIT = 100

/**
 * The storefront's listing could not be read: `Unavailable` (it is down, or answers 408, 425, 429
 * or 5xx) and `Timeout` pass, and the part supervisor tries again after a backoff; `Rejected` (any
 * other 4xx) and `MalformedResponse` will not pass by waiting.
 */
export class StorefrontError extends Schema.TaggedError<StorefrontError>()("StorefrontError", {
  reason: Schema.Union([
    Schema.TaggedStruct("Unavailable", { message: Schema.String, cause: Schema.optional(Schema.Defect()) }),
    Schema.TaggedStruct("Timeout", { afterMs: Schema.Number }),
    Schema.TaggedStruct("Rejected", { status: Schema.Number, message: Schema.String }),
    Schema.TaggedStruct("MalformedResponse", { message: Schema.String }),
  ]),
}) {
  override get message(): string {
    return describe(this.reason)
  }
}

const describe = (r: StorefrontError["reason"]): string => {
  switch (r._tag) {
    case "Unavailable":
      return `the storefront's order events are unavailable: ${r.message}`
    case "Timeout":
      return `the storefront's order events did not answer within ${r.afterMs} ms`
    case "Rejected":
      return `the storefront refused to list order events (HTTP ${r.status}): ${r.message}`
    case "MalformedResponse":
      return `the storefront's order events answered other than documented: ${r.message}`
  }
}

/** Whether a failure of the listing passes by waiting. */
export const isPassing = (error: StorefrontError): boolean =>
  error.reason._tag === "Unavailable" || error.reason._tag === "Timeout"

const decodePage = Schema.decodeUnknownResult(Schema.fromJsonString(OrderEventsPage))

/**
 * Reads one page of `GET <url>/v1/order-events?after=<seq>&limit=100`, within its own deadline; an
 * interrupted read aborts its request.
 */
export const fetchOrderEvents = (
  url: string,
  after: number,
  timeoutMs: number,
): Effect.Effect<OrderEventsPage, StorefrontError> =>
  Effect.suspend(() => {
    const deadline = AbortSignal.timeout(timeoutMs)
    const address = `${url.replace(/\/+$/, "")}/v1/order-events?after=${after}&limit=${PAGE_LIMIT}`
    return Effect.tryPromise({
      try: async (interrupted) => {
        const response = await fetch(address, {
          headers: { accept: "application/json" },
          signal: AbortSignal.any([interrupted, deadline]),
        })
        return { status: response.status, text: await response.text() }
      },
      catch: (cause) =>
        new StorefrontError({
          reason: deadline.aborted
            ? { _tag: "Timeout", afterMs: timeoutMs }
            : {
                _tag: "Unavailable",
                message: messageOf((cause as { cause?: unknown }).cause ?? cause),
                cause,
              },
        }),
    }).pipe(
      Effect.flatMap(({ status, text }) => {
        const excerpt = text.slice(0, 200)
        if (status === 408 || status === 425 || status === 429 || status >= 500)
          return Effect.fail(
            new StorefrontError({ reason: { _tag: "Unavailable", message: `HTTP ${status}: ${excerpt}` } }),
          )
        if (status < 200 || status >= 300)
          return Effect.fail(new StorefrontError({ reason: { _tag: "Rejected", status, message: excerpt } }))
        const page = decodePage(text)
        return Result.isSuccess(page)
          ? Effect.succeed(page.success)
          : Effect.fail(
              new StorefrontError({ reason: { _tag: "MalformedResponse", message: page.failure.message } }),
            )
      }),
    )
  })
