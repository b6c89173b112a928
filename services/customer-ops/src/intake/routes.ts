import type { AgentContext, AgentRoutes } from "@mesh/kernel"
import { ByteSize, Effect, Layer, Result, Schema, SchemaIssue } from "effect"
import { HttpIncomingMessage, HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { CustomerOpsSettings } from "../config.ts"
import { CustomerHistory } from "../customerHistory.ts"
import type { CustomerOpsDefs } from "../handlers/catalog.ts"
import { InboundMessage, incomingOf, MAX_INBOUND_BYTES, requestIdOf, ticketIdOf } from "./inbound.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const problem = (status: number, error: string, field?: string) =>
  HttpServerResponse.jsonUnsafe(field === undefined ? { error } : { error, field }, { status })

const tooLarge = () =>
  problem(
    413,
    `the request body is larger than ${MAX_INBOUND_BYTES} bytes; send the message without attachments`,
  )

const decodeInbound = Schema.decodeUnknownResult(Schema.fromJsonString(InboundMessage))

// Reads at most the limit: a body announced larger is refused unread, and a chunked one is cut off at it.
const readBody = (request: HttpServerRequest.HttpServerRequest) => {
  const announced = Number(request.headers["content-length"] ?? "0")
  if (announced > MAX_INBOUND_BYTES) return Effect.succeed({ tooLarge: true as const })
  return request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(MAX_INBOUND_BYTES)),
    Effect.map((text) => ({ tooLarge: false as const, text })),
    Effect.catch((error) =>
      JSON.stringify(error).includes("BodyTooLarge")
        ? Effect.succeed({ tooLarge: true as const })
        : Effect.fail(error),
    ),
  )
}

/**
 * The intake webhook (`POST /messages`) for email and chat: the message is decoded at the edge (a
 * bad body gets 400 naming the field, an oversized one 413), recorded as a request, and sent to the
 * ticket of its customer and thread; a redelivered message is the same request and joins nothing.
 */
export const intakeRoutes: AgentRoutes<CustomerOpsDefs, CustomerOpsSettings> = (context) =>
  Layer.unwrap(
    Effect.map(CustomerOpsSettings, (settings) =>
      intakeRoute(context, { defaultTenant: settings.defaultTenant }),
    ),
  )

const intakeRoute = (context: AgentContext<CustomerOpsDefs>, options: { readonly defaultTenant: string }) =>
  HttpRouter.add("POST", "/messages", (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const body = yield* readBody(request)
      if (body.tooLarge) return tooLarge()
      const decoded = decodeInbound(body.text)
      if (Result.isFailure(decoded)) {
        const issues = formatIssues(decoded.failure.issue).issues
        const first = issues[0]
        const field = (first?.path ?? []).map((s) => String(typeof s === "object" ? s.key : s)).join(".")
        return problem(
          400,
          issues
            .map(
              (i) =>
                `${(i.path ?? []).map((s) => String(typeof s === "object" ? s.key : s)).join(".") || "body"}: ${i.message}`,
            )
            .join("; "),
          field || "body",
        )
      }
      const message = incomingOf(decoded.success, options.defaultTenant)
      const ticketId = ticketIdOf(message.tenantId, message.customerId, message.threadId)
      const requestId = requestIdOf(message.tenantId, message.channel, message.messageId)
      const { request: recorded } = yield* context.receive(
        {
          requestId,
          name: "ReceiveMessage",
          origin: "http",
          actor: { kind: "human", id: message.customerId },
          body: decoded.success,
        },
        [{ aggregateType: "ticket", aggregateId: ticketId, command: { _tag: "ReceiveMessage", ...message } }],
      )
      return HttpServerResponse.jsonUnsafe(
        { ticketId, messageId: message.messageId, requestId, duplicate: recorded.duplicate },
        { status: 202 },
      )
    }).pipe(
      Effect.catchTag("RequestLogError", (error) =>
        Effect.succeed(
          error.reason._tag === "RequestIdReused"
            ? problem(
                409,
                `message ${error.reason.requestId} was delivered before with another body`,
                "messageId",
              )
            : problem(503, error.message),
        ),
      ),
      Effect.catch((error) =>
        Effect.succeed(problem(503, `the message could not be taken now: ${String(error)}`)),
      ),
    ),
  )

const TicketQuery = Schema.Struct({
  status: Schema.optionalKey(Schema.Literals(["open", "resolved"])),
  awaiting: Schema.optionalKey(Schema.Literals(["approval", "human", "refund"])),
  customer: Schema.optionalKey(Schema.String),
  limit: Schema.optionalKey(
    Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 1000 })),
  ),
})

/**
 * The operators' view of tickets: `GET /tickets` (filtered by `status`, `awaiting` and `customer`)
 * and `GET /tickets/:ticketId` with its thread, from the customer-care read model.
 */
export const ticketRoutes: AgentRoutes<CustomerOpsDefs, CustomerHistory | CustomerOpsSettings> = () =>
  Layer.unwrap(
    Effect.gen(function* () {
      return ticketReadRoutes(yield* CustomerHistory, (yield* CustomerOpsSettings).defaultTenant)
    }),
  )

const ticketReadRoutes = (history: CustomerHistory["Service"], defaultTenant: string) =>
  Layer.mergeAll(
    // A customer's history as replies see it: their orders and tickets, within the tenant.
    HttpRouter.add("GET", "/customers/:customerId", (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function* () {
        const params = yield* HttpRouter.params
        const customerId = params.customerId ?? ""
        const tenant = new URL(request.url, "http://localhost").searchParams.get("tenant") ?? defaultTenant
        const orders = yield* history.orders(tenant, customerId)
        const tickets = yield* history.list({ customerId })
        return HttpServerResponse.jsonUnsafe({
          customerId,
          tenantId: tenant,
          orders,
          tickets: tickets.filter((t) => t.tenantId === tenant),
        })
      }).pipe(Effect.catch((error) => Effect.succeed(problem(503, String(error))))),
    ),
    HttpRouter.add("GET", "/tickets", (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function* () {
        const url = new URL(request.url, "http://localhost")
        const query = Schema.decodeUnknownResult(TicketQuery)(Object.fromEntries(url.searchParams))
        if (Result.isFailure(query)) return problem(400, query.failure.message, "query")
        const { customer, ...rest } = query.success
        const tickets = yield* history.list({
          ...rest,
          ...(customer === undefined ? {} : { customerId: customer }),
        })
        return HttpServerResponse.jsonUnsafe({ tickets })
      }).pipe(Effect.catch((error) => Effect.succeed(problem(503, String(error))))),
    ),
    HttpRouter.add("GET", "/tickets/:ticketId", () =>
      Effect.gen(function* () {
        const params = yield* HttpRouter.params
        const ticketId = params.ticketId ?? ""
        const ticket = yield* history.ticket(ticketId)
        return ticket === undefined
          ? problem(404, `no ticket ${ticketId}`, "ticketId")
          : HttpServerResponse.jsonUnsafe(ticket)
      }).pipe(Effect.catch((error) => Effect.succeed(problem(503, String(error))))),
    ),
  )
