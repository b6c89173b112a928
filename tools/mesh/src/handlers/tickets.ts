import { randomUUID } from "node:crypto"
import { Config, Console, Effect, Option, Schema } from "effect"
import { describeCause, meshError } from "../errors.ts"

// `mesh tickets` speaks the customer-ops agent's HTTP API with plain fetch, and decodes every
// answer here, at the edge: the CLI imports nothing of the agent, so an answer of another shape
// is named as such instead of printing undefined.

const AGENT = "customer-ops"

// The API answers from its read model in milliseconds; a host that holds the connection open
// without answering should not hold a script for the 300 s of Node's default.
const TIMEOUT_MS = 10_000

/** An amount in minor units, as the agent's views carry it. */
const Money = Schema.Struct({ amountMinor: Schema.Number, currency: Schema.String })

/** A ticket as `GET /tickets` lists it (the agent's `TicketView`). */
const TicketView = Schema.Struct({
  ticketId: Schema.String,
  tenantId: Schema.String,
  customerId: Schema.String,
  channel: Schema.String,
  subject: Schema.String,
  status: Schema.String,
  intent: Schema.NullOr(Schema.String),
  sentiment: Schema.NullOr(Schema.String),
  priority: Schema.NullOr(Schema.String),
  confidence: Schema.NullOr(Schema.Number),
  contacts: Schema.Number,
  escalated: Schema.Boolean,
  escalationReason: Schema.NullOr(Schema.String),
  escalationCodes: Schema.Array(Schema.String),
  queue: Schema.NullOr(Schema.String),
  disposition: Schema.NullOr(Schema.String),
  dispositionReasons: Schema.Array(Schema.Struct({ code: Schema.String, detail: Schema.String })),
  draftedReply: Schema.NullOr(Schema.String),
  replyActionId: Schema.NullOr(Schema.String),
  replySent: Schema.Boolean,
  awaiting: Schema.NullOr(Schema.String),
  guardrailsTripped: Schema.Number,
  refund: Schema.NullOr(Schema.Struct({ status: Schema.String, amount: Money })),
  resolution: Schema.NullOr(Schema.String),
  openedAt: Schema.String,
  updatedAt: Schema.String,
})
type TicketView = typeof TicketView.Type

/** `GET /tickets`. */
const TicketList = Schema.Struct({ tickets: Schema.Array(TicketView) })

/** `GET /tickets/:ticketId`: the ticket with its thread, oldest message first. */
const TicketDetail = Schema.Struct({
  ...TicketView.fields,
  messages: Schema.Array(
    Schema.Struct({
      messageId: Schema.String,
      contact: Schema.Number,
      channel: Schema.String,
      subject: Schema.String,
      body: Schema.String,
      receivedAt: Schema.String,
    }),
  ),
})
type TicketDetail = typeof TicketDetail.Type

/** `POST /messages`, 202: the ticket the message joined, and whether it was taken before. */
const Accepted = Schema.Struct({
  ticketId: Schema.String,
  messageId: Schema.String,
  requestId: Schema.String,
  duplicate: Schema.Boolean,
})

/** What the agent answers a request it refuses (400, 404, 409, 413) or cannot serve (503). */
const Problem = Schema.Struct({ error: Schema.String, field: Schema.optionalKey(Schema.String) })
type Problem = typeof Problem.Type

/**
 * The agent's base URL: the flag, else MESH_CUSTOMER_OPS_URL (empty counts as unset). Without
 * either, or with one that is not http(s), nothing is attempted (a usage error).
 */
const agentUrl = (flag: Option.Option<string>) =>
  Effect.gen(function* () {
    const env = Option.filter(
      yield* Config.option(Config.String("MESH_CUSTOMER_OPS_URL")),
      (value) => value.trim() !== "",
    )
    const given = Option.orElse(flag, () => env)
    if (Option.isNone(given))
      return yield* meshError({
        _tag: "BadInput",
        message: `no ${AGENT} agent to talk to: pass --url <base> or set MESH_CUSTOMER_OPS_URL`,
      })
    const text = given.value.trim()
    const parsed = URL.canParse(text) ? new URL(text) : undefined
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:"))
      return yield* meshError({
        _tag: "BadInput",
        message: `${Option.isSome(flag) ? "--url" : "MESH_CUSTOMER_OPS_URL"} ${text} is not an http(s) URL`,
      })
    return text.replace(/\/+$/, "")
  })

// fetch rejects with "fetch failed" and the socket's error as its cause (an AggregateError without
// a message when both of localhost's addresses refuse): the socket's code is the useful part.
const whyUnreachable = (error: unknown): string => {
  if (error instanceof DOMException && error.name === "TimeoutError")
    return `no answer within ${TIMEOUT_MS / 1000} s`
  const socket =
    typeof error === "object" && error !== null ? (error as { cause?: unknown }).cause : undefined
  const code = typeof socket === "object" && socket !== null ? (socket as { code?: unknown }).code : undefined
  return typeof code === "string" ? `${describeCause(error)} (${code})` : describeCause(socket ?? error)
}

const unreachable = (url: string, why: string, cause: unknown) =>
  meshError({ _tag: "AgentUnreachable", agent: AGENT, url, cause: new Error(why, { cause }) })

/** One exchange with the agent: what it answered, or why nothing came back. */
const exchange = (
  url: string,
  method: "GET" | "POST",
  path: string,
  options: { readonly body?: unknown; readonly hint?: string; readonly token?: string | undefined } = {},
) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          accept: "application/json",
          "content-type": "application/json",
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      return { status: response.status, text: await response.text() }
    },
    catch: (cause) => unreachable(url, `${whyUnreachable(cause)}${options.hint ?? ""}`, cause),
  }).pipe(Effect.map((answer) => ({ ...answer, route: `${method} ${path}` })))

type Answer = Effect.Success<ReturnType<typeof exchange>>

// Tickets are read as one of the shop's people (an approver's token); a message is opened as a
// tenant's channel gateway (its intake token): the agent checks both.
const staffToken = (): string | undefined => process.env.MESH_APPROVER_TOKEN

/** The answer's body decoded with `schema`, or a failure naming the route and what is wrong. */
const decodeBody = <S extends Schema.Decoder<unknown>>(url: string, answer: Answer, schema: S) =>
  Effect.try({
    try: () => JSON.parse(answer.text) as unknown,
    catch: (cause) =>
      meshError({
        _tag: "Failed",
        message: `${AGENT} at ${url} answered ${answer.route} (HTTP ${answer.status}) with a body that is not JSON`,
        cause,
      }),
  }).pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(schema)),
    Effect.mapError((cause) =>
      cause._tag === "MeshCliError"
        ? cause
        : meshError({
            _tag: "Failed",
            message: `${AGENT} at ${url} answered ${answer.route} (HTTP ${answer.status}) with an unexpected body`,
            cause,
          }),
    ),
  )

/**
 * The answer's body when it has the `expected` status. Otherwise: a 503 is the agent's
 * infrastructure down (exit 4); a refusal with the agent's problem body fails with `refused`'s
 * line for it (exit 1); anything else names the route and status.
 */
const expectStatus = <S extends Schema.Decoder<unknown>>(
  url: string,
  answer: Answer,
  expected: number,
  schema: S,
  refused: (problem: Problem, status: number) => string,
) => {
  if (answer.status === expected) return decodeBody(url, answer, schema)
  const problem = Schema.decodeUnknownOption(Schema.fromJsonString(Problem))(answer.text)
  if (answer.status === 503)
    return Effect.fail(
      unreachable(
        url,
        `it cannot serve ${answer.route} now (HTTP 503)${Option.match(problem, { onNone: () => "", onSome: (p) => `: ${p.error}` })}`,
        answer.text,
      ),
    )
  return Effect.fail(
    Option.match(problem, {
      onSome: (p) => meshError({ _tag: "Failed", message: refused(p, answer.status) }),
      onNone: () =>
        meshError({
          _tag: "Failed",
          message: `${AGENT} at ${url} answered ${answer.route} with HTTP ${answer.status}${answer.text.trim() === "" ? "" : `: ${answer.text.trim().slice(0, 200)}`}`,
        }),
    }),
  )
}

const dash = (value: string | null): string => value ?? "-"

const moneyText = (amount: { readonly amountMinor: number; readonly currency: string }) =>
  `${amount.amountMinor} ${amount.currency} (minor units)`

/** One line per ticket: what it is, where it stands, what it waits for and why. */
const ticketLine = (t: TicketView): string =>
  `${t.ticketId} ${t.status} customer=${t.customerId} intent=${dash(t.intent)} sentiment=${dash(t.sentiment)} ` +
  `disposition=${dash(t.disposition)} awaiting=${dash(t.awaiting)}` +
  (t.escalated
    ? ` escalated: ${t.escalationReason ?? (t.escalationCodes.join(", ") || "no reason recorded")}`
    : "")

const indent = (text: string, by: string) =>
  text
    .split("\n")
    .map((line) => `${by}${line}`.trimEnd())
    .join("\n")

/** A ticket in full: triage, reply and its routing, escalation, refund, then the thread. */
const ticketText = (t: TicketDetail): string => {
  const lines = [
    `ticket ${t.ticketId} ${t.status}${t.resolution === null ? "" : ` (${t.resolution})`}, customer ${t.customerId} of ${t.tenantId}, ${t.channel}, ${t.contacts} contact${t.contacts === 1 ? "" : "s"}`,
    `  subject      ${t.subject}`,
    `  opened       ${t.openedAt}, updated ${t.updatedAt}`,
    `  triage       ${
      t.intent === null
        ? "not yet"
        : `intent ${t.intent}, sentiment ${dash(t.sentiment)}, priority ${dash(t.priority)}, confidence ${t.confidence ?? "-"}`
    }`,
    `  awaiting     ${t.awaiting ?? "nothing"}`,
  ]
  if (t.escalated)
    lines.push(
      `  escalated    ${dash(t.escalationReason)}${t.escalationCodes.length === 0 ? "" : ` [${t.escalationCodes.join(", ")}]`}${t.queue === null ? "" : ` to queue ${t.queue}`}`,
    )
  if (t.guardrailsTripped > 0) lines.push(`  guardrails   ${t.guardrailsTripped} tripped`)
  if (t.refund !== null) lines.push(`  refund       ${t.refund.status} ${moneyText(t.refund.amount)}`)
  lines.push(
    `  disposition  ${t.disposition ?? "not routed yet"}`,
    ...t.dispositionReasons.map((r) => `    - ${r.code}: ${r.detail}`),
  )
  if (t.draftedReply === null) lines.push("  reply        none drafted yet")
  else
    lines.push(
      `  reply        ${t.replySent ? "sent" : "drafted, not sent"}${t.replyActionId === null ? "" : ` (action ${t.replyActionId})`}`,
      indent(t.draftedReply, "    | "),
    )
  lines.push(`  thread       ${t.messages.length} message${t.messages.length === 1 ? "" : "s"}`)
  for (const m of t.messages)
    lines.push(
      `    ${m.contact}. ${m.receivedAt} ${m.channel} ${m.messageId}: ${m.subject}`,
      indent(m.body, "       "),
    )
  return lines.join("\n")
}

/** `mesh tickets`: the agent's tickets, most recently changed first. */
export const list = (args: {
  readonly status: Option.Option<"open" | "resolved">
  readonly awaiting: Option.Option<"approval" | "human">
  readonly customer: Option.Option<string>
  readonly limit: Option.Option<number>
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const url = yield* agentUrl(args.url)
    const query = new URLSearchParams()
    if (Option.isSome(args.status)) query.set("status", args.status.value)
    if (Option.isSome(args.awaiting)) query.set("awaiting", args.awaiting.value)
    if (Option.isSome(args.customer)) query.set("customer", args.customer.value)
    if (Option.isSome(args.limit)) query.set("limit", String(args.limit.value))
    const path = query.size === 0 ? "/tickets" : `/tickets?${query}`
    const answer = yield* exchange(url, "GET", path, { token: staffToken() })
    const { tickets } = yield* expectStatus(
      url,
      answer,
      200,
      TicketList,
      (p) => `${AGENT} refused the listing: ${p.error}`,
    )
    for (const ticket of tickets) yield* Console.log(args.json ? JSON.stringify(ticket) : ticketLine(ticket))
    if (!args.json) yield* Console.log(`${tickets.length} ticket${tickets.length === 1 ? "" : "s"}`)
  })

/** `mesh tickets show <ticket-id>`: one ticket with its thread. */
export const show = (args: {
  readonly ticketId: string
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const url = yield* agentUrl(args.url)
    const answer = yield* exchange(url, "GET", `/tickets/${encodeURIComponent(args.ticketId)}`, {
      token: staffToken(),
    })
    const ticket = yield* expectStatus(url, answer, 200, TicketDetail, (p, status) =>
      status === 404 ? `${p.error} at ${AGENT} ${url}` : `${AGENT} refused ${answer.route}: ${p.error}`,
    )
    yield* Console.log(args.json ? JSON.stringify(ticket) : ticketText(ticket))
  })

/** `mesh tickets open`: a customer's message through the intake webhook; prints its ticket's id. */
export const open = (args: {
  readonly customer: string
  readonly subject: string
  readonly body: string
  readonly channel: "email" | "chat" | "web"
  readonly replyTo: Option.Option<string>
  readonly order: Option.Option<string>
  readonly thread: Option.Option<string>
  readonly messageId: Option.Option<string>
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const url = yield* agentUrl(args.url)
    // The message id makes a retry idempotent: the agent takes a message id once.
    const messageId = Option.getOrElse(args.messageId, () => `cli-${randomUUID()}`)
    const optional = (key: string, value: Option.Option<string>) =>
      Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v }) })
    const message = {
      messageId,
      customerId: args.customer,
      channel: args.channel,
      subject: args.subject,
      body: args.body,
      ...optional("replyTo", args.replyTo),
      ...optional("orderId", args.order),
      ...optional("threadId", args.thread),
    }
    // Whether a message that got no answer arrived is unknown: its id lets a retry send it once.
    const answer = yield* exchange(url, "POST", "/messages", {
      token: process.env.MESH_INTAKE_TOKEN,
      body: message,
      hint: `; to retry without sending it twice, pass --message-id ${messageId}`,
    })
    const accepted = yield* expectStatus(url, answer, 202, Accepted, (p, status) =>
      status === 413
        ? `${AGENT} refused the message as too large: ${p.error}`
        : `${AGENT} refused the message${p.field === undefined ? "" : ` (field ${p.field})`}: ${p.error}`,
    )
    if (accepted.duplicate)
      yield* Effect.logInfo("the message was taken before; the ticket has it once").pipe(
        Effect.annotateLogs({ messageId: accepted.messageId, ticketId: accepted.ticketId }),
      )
    yield* Console.log(args.json ? JSON.stringify(accepted) : accepted.ticketId)
  })
