import { randomUUID } from "node:crypto"
import { Console, Effect, Option, Schema } from "effect"
import { agentClient, approverToken, expectStatus } from "./agentHttp.ts"

// `mesh tickets` reads what operators read, the `customer-care` read model, through the agent's API.

const api = { agent: "customer-ops", urlVariable: "MESH_CUSTOMER_OPS_URL" } as const
const AGENT = api.agent

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
    const agent = yield* agentClient(api, args.url)
    const query = new URLSearchParams()
    if (Option.isSome(args.status)) query.set("status", args.status.value)
    if (Option.isSome(args.awaiting)) query.set("awaiting", args.awaiting.value)
    if (Option.isSome(args.customer)) query.set("customer", args.customer.value)
    if (Option.isSome(args.limit)) query.set("limit", String(args.limit.value))
    const path = query.size === 0 ? "/tickets" : `/tickets?${query}`
    const answer = yield* agent.exchange("GET", path, { token: approverToken() })
    const { tickets } = yield* expectStatus(
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
    const agent = yield* agentClient(api, args.url)
    const answer = yield* agent.exchange("GET", `/tickets/${encodeURIComponent(args.ticketId)}`, {
      token: approverToken(),
    })
    const ticket = yield* expectStatus(answer, 200, TicketDetail, (p, status) =>
      status === 404 ? `${p.error} at ${AGENT} ${agent.url}` : `${AGENT} refused ${answer.route}: ${p.error}`,
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
    const agent = yield* agentClient(api, args.url)
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
    // Tickets are read as one of the shop's people (an approver's token); a message comes as a
    // tenant's channel gateway (its intake token): the agent checks both.
    const answer = yield* agent.exchange("POST", "/messages", {
      token: process.env.MESH_INTAKE_TOKEN,
      body: message,
      hint: `; to retry without sending it twice, pass --message-id ${messageId}`,
    })
    const accepted = yield* expectStatus(answer, 202, Accepted, (p, status) =>
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
