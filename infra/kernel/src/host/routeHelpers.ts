import { TenantId } from "@mesh/contracts"
import { ByteSize, Effect, Result, Schema, SchemaIssue } from "effect"
import { HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "effect/http"

// What agents' routes share: their error answers, a bounded body read, decoding at the edge, the
// tenant a query names, and the bearer token.

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** An error answer, naming the field at fault when there is one. */
export const problem = (status: number, error: string, field?: string) =>
  HttpServerResponse.jsonUnsafe(field === undefined ? { error } : { error, field }, { status })

/**
 * Reads at most `maxBytes` of a request's body: a body announced larger is refused unread, and a
 * chunked one is cut off at the limit. The bytes are kept for a signature over the raw body.
 */
export const readBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) => {
  const announced = Number(request.headers["content-length"] ?? "0")
  if (announced > maxBytes) return Effect.succeed({ tooLarge: true as const })
  return request.arrayBuffer.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)),
    Effect.map((buffer) => {
      const bytes = new Uint8Array(buffer)
      return { tooLarge: false as const, bytes, text: new TextDecoder().decode(bytes) }
    }),
    Effect.catch((error) =>
      JSON.stringify(error).includes("BodyTooLarge")
        ? Effect.succeed({ tooLarge: true as const })
        : Effect.fail(error),
    ),
  )
}

/**
 * A decoder of a JSON body, compiled once: the value, or a 400 that names every field at fault
 * (`order.status: …`) and the first one in `field`.
 */
export const decoderOf = <A>(schema: Schema.Codec<A, unknown>) => {
  const decode = Schema.decodeUnknownResult(Schema.fromJsonString(schema))
  return (text: string) => {
    const decoded = decode(text)
    if (Result.isSuccess(decoded)) return { ok: true as const, value: decoded.success }
    const issues = formatIssues(decoded.failure.issue).issues
    const pathOf = (issue: (typeof issues)[number]) =>
      (issue.path ?? []).map((s) => String(typeof s === "object" ? s.key : s)).join(".") || "body"
    return {
      ok: false as const,
      response: problem(
        400,
        issues.map((i) => `${pathOf(i)}: ${i.message}`).join("; "),
        issues[0] ? pathOf(issues[0]) : "body",
      ),
    }
  }
}

/** The bearer token of a request, if it carries one. */
export const bearerOf = (request: HttpServerRequest.HttpServerRequest): string | undefined =>
  /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1]

/** A JSON body decoded at the edge: the value, a 413 over `maxBytes`, or a 400 naming the field at fault. */
export const readJson = <A>(
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number,
  schema: Schema.Codec<A, unknown>,
) =>
  Effect.map(readBody(request, maxBytes), (body) =>
    body.tooLarge
      ? { ok: false as const, response: problem(413, `the request body is larger than ${maxBytes} bytes`) }
      : decoderOf(schema)(body.text),
  )

const isTenantId = Schema.is(TenantId)

/** `?tenantId=`, checked: absent (null), a tenant id, or a 400 naming the field. */
export const tenantQueryOf = (request: HttpServerRequest.HttpServerRequest) => {
  const tenantId = new URL(request.url, "http://agent").searchParams.get("tenantId")
  return tenantId === null || isTenantId(tenantId)
    ? { ok: true as const, tenantId }
    : {
        ok: false as const,
        response: problem(400, "a tenant id is 1-32 characters of a-z, 0-9 or '-'", "tenantId"),
      }
}
