import { ApproverTokens } from "@mesh/actions"
import { NonEmpty, TenantId, TicketIntent } from "@mesh/contracts"
import {
  type AgentContext,
  type AgentRoutes,
  bearerOf,
  bodyDigest,
  decoderOf,
  problem,
  readBody,
} from "@mesh/kernel"
import { Effect, Layer, Redacted, Result, Schema } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { CustomerOpsSettings } from "../config.ts"
import { CustomerHistory } from "../customerHistory.ts"
import { cleanUntrusted } from "../guardrails/index.ts"
import type { CustomerOpsDefs } from "../handlers/catalog.ts"
import { personsReplyId } from "../handlers/knowledge.ts"
import { articleIdOfTitle } from "../knowledge/knowledge.ts"
import { TicketThreads } from "../ticketThreads.ts"
import {
  InboundMessage,
  incomingOf,
  MAX_INBOUND_BYTES,
  MAX_MESSAGE_CHARS,
  requestIdOf,
  ticketIdOf,
} from "./inbound.ts"

const tooLarge = () =>
  problem(
    413,
    `the request body is larger than ${MAX_INBOUND_BYTES} bytes; send the message without attachments`,
  )

const decodeInbound = decoderOf(InboundMessage)

/**
 * The intake webhook (`POST /messages`) for email and chat: the message is decoded at the edge (a
 * bad body gets 400 naming the field, an oversized one 413), recorded as a request, and sent to the
 * ticket of its customer and thread; a redelivered message is the same request and joins nothing.
 */
export const intakeRoutes: AgentRoutes<CustomerOpsDefs, CustomerOpsSettings> = (context) =>
  Layer.unwrap(
    Effect.map(CustomerOpsSettings, (settings) =>
      intakeRoute(context, { tenantOfIntakeToken: settings.tenantOfIntakeToken }),
    ),
  )

const intakeRoute = (
  context: AgentContext<CustomerOpsDefs>,
  options: { readonly tenantOfIntakeToken: (token: Redacted.Redacted<string>) => string | undefined },
) =>
  HttpRouter.add("POST", "/messages", (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      // Only a tenant's own gateways post its messages: the token says which tenant, never the body.
      const token = bearerOf(request)
      const tenant = token === undefined ? undefined : options.tenantOfIntakeToken(Redacted.make(token))
      if (tenant === undefined)
        return problem(
          401,
          "a bearer token of a channel gateway (MESH_INTAKE_TOKENS) is required",
          "authorization",
        )
      const body = yield* readBody(request, MAX_INBOUND_BYTES)
      if (body.tooLarge) return tooLarge()
      const decoded = decodeInbound(body.text)
      if (!decoded.ok) return decoded.response
      if (decoded.value.tenantId !== undefined && decoded.value.tenantId !== tenant)
        return problem(
          403,
          `the gateway's token is for tenant ${tenant}, not ${decoded.value.tenantId}`,
          "tenantId",
        )
      const message = incomingOf(decoded.value, tenant)
      const ticketId = ticketIdOf(message.tenantId, message.customerId, message.threadId)
      const requestId = requestIdOf(message.tenantId, message.channel, message.messageId)
      const { request: recorded } = yield* context.receive(
        {
          requestId,
          name: "ReceiveMessage",
          origin: "http",
          actor: { kind: "human", id: message.customerId },
          body: decoded.value,
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
export const ticketRoutes: AgentRoutes<
  CustomerOpsDefs,
  CustomerHistory | CustomerOpsSettings | ApproverTokens
> = () =>
  Layer.unwrap(
    Effect.gen(function* () {
      const tokens = yield* ApproverTokens
      // Tickets hold customers' messages and orders: only the shop's people (approver tokens) read them.
      const staff = (request: HttpServerRequest.HttpServerRequest) => {
        const token = bearerOf(request)
        return token !== undefined && tokens.identityOf(Redacted.make(token)) !== undefined
      }
      return ticketReadRoutes(yield* CustomerHistory, (yield* CustomerOpsSettings).defaultTenant, staff)
    }),
  )

const staffOnly = () => problem(401, "a bearer token of a known approver is required", "authorization")

const ticketReadRoutes = (
  history: CustomerHistory["Service"],
  defaultTenant: string,
  staff: (request: HttpServerRequest.HttpServerRequest) => boolean,
) =>
  Layer.mergeAll(
    // A customer's history as replies see it: their orders and tickets, within the tenant.
    HttpRouter.add("GET", "/customers/:customerId", (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function* () {
        if (!staff(request)) return staffOnly()
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
        if (!staff(request)) return staffOnly()
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
    HttpRouter.add("GET", "/tickets/:ticketId", (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function* () {
        if (!staff(request)) return staffOnly()
        const params = yield* HttpRouter.params
        const ticketId = params.ticketId ?? ""
        const ticket = yield* history.ticket(ticketId)
        return ticket === undefined
          ? problem(404, `no ticket ${ticketId}`, "ticketId")
          : HttpServerResponse.jsonUnsafe(ticket)
      }).pipe(Effect.catch((error) => Effect.succeed(problem(503, String(error))))),
    ),
  )

const PersonsAnswer = Schema.Struct({
  body: NonEmpty.check(Schema.isMaxLength(MAX_MESSAGE_CHARS)),
  /** The customer's message it answers; without one, the ticket's latest. */
  messageId: Schema.optionalKey(NonEmpty),
})

const ImportedArticle = Schema.Struct({
  tenantId: Schema.optionalKey(TenantId),
  title: NonEmpty.check(Schema.isMaxLength(300)),
  body: NonEmpty.check(Schema.isMaxLength(MAX_MESSAGE_CHARS)),
  intent: Schema.optionalKey(TicketIntent),
})

const decodePersonsAnswer = decoderOf(PersonsAnswer)
const decodeImportedArticle = decoderOf(ImportedArticle)

const Retirement = Schema.Struct({ reason: NonEmpty.check(Schema.isMaxLength(500)) })
const decodeRetirement = decoderOf(Retirement)

/**
 * What the shop's people do through the agent, as approvers (a bearer token of `MESH_APPROVER_TOKENS`):
 * `POST /tickets/:ticketId/answer` writes the reply to a ticket's message (the one named, else the
 * latest; one reply per message, a second is a 409), which the agent sends for them (and which, once
 * sent, becomes a knowledge draft); `POST /knowledge` imports an
 * article as a draft, cleaned of hidden content, which a person then approves like any draft.
 */
export const staffRoutes: AgentRoutes<
  CustomerOpsDefs,
  ApproverTokens | CustomerOpsSettings | TicketThreads
> = (context) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const tokens = yield* ApproverTokens
      const settings = yield* CustomerOpsSettings
      const threads = yield* TicketThreads
      const personOf = (request: HttpServerRequest.HttpServerRequest) => {
        const token = bearerOf(request)
        return token === undefined ? undefined : tokens.identityOf(Redacted.make(token))
      }
      const unknownPerson = () =>
        problem(401, "a bearer token of a known approver is required", "authorization")
      return Layer.mergeAll(
        HttpRouter.add("POST", "/tickets/:ticketId/answer", (request: HttpServerRequest.HttpServerRequest) =>
          Effect.gen(function* () {
            const author = personOf(request)
            if (author === undefined) return unknownPerson()
            const ticketId = (yield* HttpRouter.params).ticketId ?? ""
            const body = yield* readBody(request, MAX_INBOUND_BYTES)
            if (body.tooLarge) return tooLarge()
            const answer = decodePersonsAnswer(body.text)
            if (!answer.ok) return answer.response
            const thread = yield* threads.load(ticketId)
            const messages = thread.flatMap((e) =>
              e.type === "TicketOpened"
                ? [{ messageId: e.payload.messageId ?? "first", contact: 1 }]
                : e.type === "TicketMessageReceived"
                  ? [{ messageId: e.payload.messageId, contact: e.payload.contact }]
                  : [],
            )
            if (messages.length === 0) return problem(404, `no ticket ${ticketId}`, "ticketId")
            const named = answer.value.messageId
            const answered =
              named === undefined ? messages.at(-1) : messages.find((m) => m.messageId === named)
            if (answered === undefined)
              return problem(400, `ticket ${ticketId} has no message ${named}`, "messageId")
            const draftId = personsReplyId(ticketId, answered.contact)
            const received = yield* context.receive(
              {
                requestId: `${draftId}-${bodyDigest(answer.value).slice(0, 16)}`,
                name: "WriteReply",
                origin: "http",
                actor: { kind: "human", id: author },
                body: { ticketId, ...answer.value },
              },
              [
                {
                  aggregateType: "ticket",
                  aggregateId: ticketId,
                  command: {
                    _tag: "WriteReply",
                    messageId: answered.messageId,
                    draftId,
                    body: answer.value.body,
                    author,
                  },
                },
              ],
            )
            const ids = { ticketId, messageId: answered.messageId, draftId, actionId: draftId }
            switch (received.outcomes[0]?.status) {
              case "appended":
                return HttpServerResponse.jsonUnsafe(ids, { status: 202 })
              // The same answer again (a retry): it was taken the first time.
              case "already-handled":
                return HttpServerResponse.jsonUnsafe(ids, { status: 200 })
              default:
                return problem(
                  409,
                  `message ${answered.messageId} of ticket ${ticketId} already has a person's reply (${draftId}); it is sent once`,
                  "messageId",
                )
            }
          }).pipe(Effect.catch((error) => Effect.succeed(problem(503, String(error))))),
        ),
        // A retired article is marked stale in long-term memory and never recalled again.
        HttpRouter.add(
          "POST",
          "/knowledge/:articleId/retire",
          (request: HttpServerRequest.HttpServerRequest) =>
            Effect.gen(function* () {
              const author = personOf(request)
              if (author === undefined) return unknownPerson()
              const articleId = (yield* HttpRouter.params).articleId ?? ""
              if (!/^kb-[A-Za-z0-9-]{1,120}$/.test(articleId))
                return problem(400, "not an article id", "articleId")
              const body = yield* readBody(request, MAX_INBOUND_BYTES)
              if (body.tooLarge) return tooLarge()
              const retirement = decodeRetirement(body.text)
              if (!retirement.ok) return retirement.response
              yield* context.receive(
                {
                  requestId: `retire-${articleId}-${bodyDigest(retirement.value).slice(0, 16)}`,
                  name: "RetireKnowledge",
                  origin: "http",
                  actor: { kind: "human", id: author },
                  body: { articleId, ...retirement.value },
                },
                [
                  {
                    aggregateType: "knowledge",
                    aggregateId: articleId,
                    command: { _tag: "RetireKnowledge", reason: retirement.value.reason },
                  },
                ],
              )
              return HttpServerResponse.jsonUnsafe({ articleId, retired: true }, { status: 202 })
            }).pipe(Effect.catch((error) => Effect.succeed(problem(503, String(error))))),
        ),
        HttpRouter.add("POST", "/knowledge", (request: HttpServerRequest.HttpServerRequest) =>
          Effect.gen(function* () {
            const author = personOf(request)
            if (author === undefined) return unknownPerson()
            const body = yield* readBody(request, MAX_INBOUND_BYTES)
            if (body.tooLarge) return tooLarge()
            const article = decodeImportedArticle(body.text)
            if (!article.ok) return article.response
            const tenantId = article.value.tenantId ?? settings.defaultTenant
            // Hidden content never enters the knowledge base; what it tried is answered and checked again on the draft.
            const title = cleanUntrusted(article.value.title)
            const text = cleanUntrusted(article.value.body)
            if (title.text.trim() === "" || text.text.trim() === "")
              return problem(400, "the article has no visible text once hidden content is removed", "body")
            const articleId = articleIdOfTitle(tenantId, title.text)
            yield* context.receive(
              {
                requestId: `import-${articleId}-${bodyDigest(article.value).slice(0, 16)}`,
                name: "DraftKnowledge",
                origin: "http",
                actor: { kind: "human", id: author },
                body: article.value,
              },
              [
                {
                  aggregateType: "knowledge",
                  aggregateId: articleId,
                  command: {
                    _tag: "DraftKnowledge",
                    articleId,
                    tenantId,
                    title: title.text,
                    body: text.text,
                    intent: article.value.intent ?? "product_question",
                    source: { _tag: "Import", author },
                  },
                },
              ],
            )
            return HttpServerResponse.jsonUnsafe(
              { articleId, removed: [...title.findings, ...text.findings].map((f) => f.code) },
              { status: 202 },
            )
          }).pipe(Effect.catch((error) => Effect.succeed(problem(503, String(error))))),
        ),
      )
    }),
  )
