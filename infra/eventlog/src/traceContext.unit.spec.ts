import { Effect, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { currentTraceContext, parentSpanOf, traceContextOf } from "./traceContext.ts"

const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

describe("trace context", () => {
  it("is the current span's traceparent, and nothing outside a span", async () => {
    const { span, trace } = await Effect.runPromise(
      Effect.gen(function* () {
        return { span: yield* Effect.currentSpan, trace: yield* currentTraceContext }
      }).pipe(Effect.withSpan("append")),
    )
    expect(trace).toEqual({ traceparent: `00-${span.traceId}-${span.spanId}-01` })
    expect(await Effect.runPromise(currentTraceContext)).toBeUndefined()
  })

  it("says whether the span is sampled, and is not written for a span that does not propagate or has no W3C ids", () => {
    const unsampled = Tracer.externalSpan({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      sampled: false,
    })
    expect(traceContextOf(unsampled)).toEqual({ traceparent: traceparent.replace(/01$/, "00") })
    expect(
      traceContextOf(Tracer.externalSpan({ traceId: "not-hex", spanId: "b7ad6b7169203331" })),
    ).toBeUndefined()
    const silent = Effect.runSync(
      Effect.currentSpan.pipe(Effect.withSpan("quiet"), Effect.withTracerEnabled(false)),
    )
    expect(traceContextOf(silent)).toBeUndefined()
  })

  it("continues an event's trace: a span under its parent carries its trace id and tracestate on", () => {
    const parent = parentSpanOf({ traceparent, tracestate: "vendor=opaque" })!
    expect(parent).toMatchObject({
      _tag: "ExternalSpan",
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      sampled: true,
    })
    const trace = Effect.runSync(
      currentTraceContext.pipe(Effect.withSpan("react"), Effect.withSpan("consume", { parent })),
    )
    expect(trace!.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/)
    expect(trace!.tracestate).toBe("vendor=opaque")
    expect(
      parentSpanOf({ traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01" }),
    ).toBeUndefined()
    expect(parentSpanOf(undefined)).toBeUndefined()
  })
})
