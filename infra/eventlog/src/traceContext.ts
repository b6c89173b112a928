import type { TraceContext } from "@mesh/contracts"
import { Context, Effect, Option, Tracer } from "effect"
import { Headers, HttpTraceContext } from "effect/http"

/**
 * The W3C `tracestate` of an event whose trace a reader continues, kept on the external span
 * that stands for the event's producer, so that events appended under it carry it on.
 */
export class TraceState extends Context.Service<TraceState, string>()("mesh/TraceState") {}

// What the envelope accepts (contracts' TraceContext): a trace context that fails it is not written,
// since an event that does not decode would stop its readers.
const traceparentPattern = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/**
 * The W3C trace context of a span: its `traceparent`, and the `tracestate` of the remote parent
 * it descends from, if any. Undefined when the span does not propagate or its ids are not W3C ids.
 */
export const traceContextOf = (span: Tracer.AnySpan): TraceContext | undefined => {
  if (Context.get(span.annotations, Tracer.DisablePropagation)) return undefined
  const traceparent = `00-${span.traceId.padStart(32, "0")}-${span.spanId}-${span.sampled ? "01" : "00"}`
  if (!traceparentPattern.test(traceparent)) return undefined
  for (let s: Tracer.AnySpan | undefined = span; s !== undefined; ) {
    const tracestate: Option.Option<string> = Context.getOption(s.annotations, TraceState)
    if (Option.isSome(tracestate)) return { traceparent, tracestate: tracestate.value }
    s = s._tag === "Span" ? Option.getOrUndefined(s.parent) : undefined
  }
  return { traceparent }
}

/** The trace context of the current span, if any: what an append writes into its envelopes. */
export const currentTraceContext: Effect.Effect<TraceContext | undefined> = Effect.map(
  Effect.serviceOption(Tracer.ParentSpan),
  (span) => (Option.isSome(span) ? traceContextOf(span.value) : undefined),
)

/**
 * The span an event's trace context names, as the external parent of the reader's span that
 * handles it, so that spans join across agents; undefined for an event without a valid one.
 */
export const parentSpanOf = (trace: TraceContext | undefined): Tracer.ExternalSpan | undefined => {
  if (trace === undefined) return undefined
  const parent = HttpTraceContext.w3c(Headers.fromRecordUnsafe({ traceparent: trace.traceparent }))
  if (Option.isNone(parent)) return undefined
  return trace.tracestate === undefined
    ? parent.value
    : Tracer.externalSpan({
        traceId: parent.value.traceId,
        spanId: parent.value.spanId,
        sampled: parent.value.sampled,
        annotations: Context.make(TraceState, trace.tracestate) as Context.Context<never>,
      })
}
