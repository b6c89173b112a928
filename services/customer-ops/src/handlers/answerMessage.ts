import { ActionGate } from "@mesh/actions"
import {
  type DispositionReason,
  type EventOf,
  formatMoney,
  openPurchaseOrders,
  stockReservations,
  supplierExpectedDate,
  type TicketIntent,
  tenantScopedId,
} from "@mesh/contracts"
import type { ReactorDefinition } from "@mesh/kernel"
import { type DecisionRecorder, decideOnce, type ModelProvider } from "@mesh/models"
import { Registers } from "@mesh/registers"
import { Clock, Effect, Result, Schema } from "effect"
import { CustomerOpsSettings } from "../config.ts"
import { CustomerHistory } from "../customerHistory.ts"
import {
  cleanUntrusted,
  detailChangeRequests,
  isManipulation,
  leaksPrompt,
  ungroundedPromises,
} from "../guardrails/index.ts"
import { articlesFittingMessage } from "../knowledge/articleScope.ts"
import { KnowledgeBase } from "../knowledge/knowledgeBase.ts"
import {
  namesOrder,
  orderFacts,
  type ProductStock,
  productStockFact,
  type RestockOutlook,
  restockFact,
} from "../memory/facts.ts"
import { asksAboutStock, productsNamedIn } from "../memory/products.ts"
import { type ThreadTurn, threadWithinBudget } from "../memory/thread.ts"
import { gateModeOf, type ReplyPolicy, routeReply } from "../policy/replyPolicy.ts"
import type { CustomerOrder } from "../projections/customerCare.ts"
import { draftReply } from "../skills/draftReply.ts"
import type { DraftReplyInput, ReplyFact, TriageInput } from "../skills/tasks.ts"
import { triageTicket } from "../skills/triageTicket.ts"
import { openRefundOf, type TicketCommand, type TicketEvent, ticketDecider } from "../ticket/ticket.ts"
import { type TicketRecord, TicketThreads } from "../ticketThreads.ts"
import type { CustomerOpsDefs } from "./catalog.ts"

/** The ids of what one message of a ticket causes, so that every step can find the others. */
export const stepIds = (ticketId: string, contact: number) => ({
  draftId: `draft-${ticketId}-m${contact}`,
  replyActionId: `reply-${ticketId}-m${contact}`,
  refundActionId: `refund-${ticketId}-m${contact}`,
})

/** The ticket and message contact an action id of this agent names, or null for another action. */
export const actionTarget = (
  actionId: string,
): {
  readonly step: "reply" | "refund" | "answer"
  readonly ticketId: string
  readonly contact: number
} | null => {
  const match = /^(reply|refund|answer)-(tk-[0-9a-f]+)-m(\d+)$/.exec(actionId)
  if (match === null) return null
  return {
    step: match[1] as "reply" | "refund" | "answer",
    ticketId: match[2] ?? "",
    contact: Number(match[3]),
  }
}

/** A message of a ticket, as this reaction answers it. */
interface MessageInHand {
  readonly messageId: string
  readonly contact: number
  readonly channel: "email" | "chat" | "web"
  readonly subject: string
  readonly body: string
  readonly orderId: string | null
}

type CustomerEvent = EventOf<CustomerOpsDefs>

const messageOf = (event: CustomerEvent): MessageInHand | null => {
  switch (event.type) {
    case "TicketOpened":
      return {
        messageId: event.payload.messageId ?? "first",
        contact: 1,
        channel: event.payload.channel,
        subject: event.payload.subject,
        body: event.payload.body,
        orderId: event.payload.orderId,
      }
    case "TicketMessageReceived":
      return { ...event.payload }
    default:
      return null
  }
}

/** What the reaction sends its ticket, in order. */
type Step = TicketCommand

const decodeDraftInput = Schema.decodeUnknownResult(draftReply.input)
const decodeTriageInput = Schema.decodeUnknownResult(triageTicket.input)

// The system prompts a draft must never repeat.
const systemPrompts = (() => {
  const sample: DraftReplyInput = { subject: "", body: "", intent: "other", facts: [] }
  const triage: TriageInput = { subject: "", body: "" }
  return [draftReply.template(sample).system, triageTicket.template(triage).system]
})()

/** The prompt budget of a reply's thread; with the instructions and facts a draft prompt stays under 2,000 tokens. */
export const THREAD_BUDGET_TOKENS = 1_200

/** The thread before the message with `contact`: the customer's messages and the replies sent, in order. */
const threadBefore = (thread: ReadonlyArray<TicketRecord>, contact: number): ReadonlyArray<ThreadTurn> => {
  const drafts = new Map<string, string>()
  const turns: Array<ThreadTurn> = []
  for (const e of thread) {
    // Earlier messages are as untrusted as the latest: cleaned the same way before a model reads them.
    if (e.type === "TicketOpened" && contact > 1)
      turns.push({ from: "customer", text: cleanUntrusted(e.payload.body).text })
    else if (e.type === "TicketMessageReceived" && e.payload.contact < contact)
      turns.push({ from: "customer", text: cleanUntrusted(e.payload.body).text })
    else if (e.type === "ReplyDrafted") drafts.set(e.payload.draftId, e.payload.body)
    else if (e.type === "ReplySent") {
      const body = drafts.get(e.payload.draftId)
      if (body !== undefined) turns.push({ from: "shop", text: body })
    }
  }
  return turns
}

/** The most approved articles a draft cites. */
const ARTICLES_CITED = 3

/** Everything the answering reaction needs from the agent's process. */
export type AnswerServices =
  | KnowledgeBase
  | ModelProvider
  | DecisionRecorder
  | ActionGate
  | CustomerHistory
  | TicketThreads
  | CustomerOpsSettings
  | Registers

/**
 * When new stock of a tenant's SKU is expected, from the shared registers procurement keeps: an open
 * purchase order and the date its supplier promised, or that the date has passed. A date without an
 * open order is not a promise.
 */
const restockOutlookOf = (stockId: string, now: number) =>
  Effect.gen(function* () {
    const registers = yield* Registers
    const open = yield* registers.read(openPurchaseOrders, stockId)
    const promised = yield* registers.read(supplierExpectedDate, stockId)
    const date = open.value.length > 0 ? promised.value : null
    const outlook: RestockOutlook =
      date === null || date === undefined
        ? { _tag: "Unknown" }
        : Date.parse(date) < now
          ? { _tag: "Overdue", wasDueBy: date }
          : { _tag: "Expected", by: date }
    return outlook
  })

const stockIdOf = (tenantId: string, sku: string) =>
  Effect.try({ try: () => tenantScopedId(tenantId, sku), catch: (error) => error })

/** The back-ordered lines of an order as facts: for each, when new stock is expected. */
const restockFactsOf = (tenantId: string, order: CustomerOrder) =>
  Effect.gen(function* () {
    if (order.waitingForStock.length === 0) return []
    const now = yield* Clock.currentTimeMillis
    const facts: Array<ReplyFact> = []
    for (const sku of new Set(order.waitingForStock)) {
      const line = order.lines.find((l) => l.sku === sku) ?? { sku, name: sku }
      const outlook = yield* restockOutlookOf(yield* stockIdOf(tenantId, sku), now)
      facts.push(restockFact(order, line, outlook))
    }
    return facts
  })

/**
 * The stock of the products a message asks about, as facts: a customer asking whether "the blue
 * mug" is in stock, or when it will be again, whether or not they ordered it. Only when the message
 * asks about stock and names products of the tenant's catalogue unambiguously; a product whose
 * stock procurement has never counted, or a line of the order already told, gets none.
 */
const productStockFactsOf = (tenantId: string, text: string, told: ReadonlySet<string>) =>
  Effect.gen(function* () {
    if (!asksAboutStock(text)) return []
    const catalogue = yield* (yield* CustomerHistory).products(tenantId)
    const registers = yield* Registers
    const now = yield* Clock.currentTimeMillis
    const facts: Array<ReplyFact> = []
    for (const product of productsNamedIn(text, catalogue)) {
      if (told.has(product.sku)) continue
      const stockId = yield* stockIdOf(tenantId, product.sku)
      const free = yield* registers.read(stockReservations, stockId)
      if (free.sites.length === 0) continue
      const stock: ProductStock =
        free.value.available > 0 ? { _tag: "InStock" } : yield* restockOutlookOf(stockId, now)
      facts.push(productStockFact(product, stock))
    }
    return facts
  })

/**
 * Answers each customer message once, however often it is delivered: it cleans the untrusted text,
 * triages it (a decision recorded once per message), drafts a reply from the customer's records
 * (another), checks the draft against those records, routes it by the reply policy, and asks the
 * action gate for the reply (and a refund, which always waits for a person). Every decision, check
 * and verdict is an event on the ticket, so each sent reply traces back to all of them.
 */
export const answerMessages = (options: {
  readonly agent: string
}): ReactorDefinition<CustomerOpsDefs, unknown, AnswerServices> => ({
  name: "customer-ops-answer",
  consumes: { domain: "customer" },
  eventTypes: ["TicketOpened", "TicketMessageReceived"],
  // Answering a message mostly waits: on the log, the read model, memory and the model, whose
  // provider caps its own calls in flight (a local Ollama serving a few at a time is not overrun, and
  // a call's timeout starts once it has its turn). Sixteen tickets at once, each ticket's messages in
  // order. On the shop's day (548 messages, two cores kept busy) the answers queued behind four at
  // once: the day took 48-55 s at 4, 46-50 s at 8 and 43-49 s at 16, and a message waited 17 s at
  // p50 before its answer began at 4 and 7 s at 16. The offline encoder embeds the queries waiting
  // together in one run, so more at once also costs less CPU a message.
  concurrency: 16,
  react: (event, written) =>
    Effect.gen(function* () {
      const message = messageOf(event)
      if (message === null) return []
      const policy: ReplyPolicy = (yield* CustomerOpsSettings).replyPolicy
      const ticketId = event.aggregateId
      const { draftId, replyActionId, refundActionId } = stepIds(ticketId, message.contact)
      const thread = yield* (yield* TicketThreads).load(ticketId)
      // The order a message is about is the one the thread had named when it came: a reaction that
      // lags (or a dead letter handed back hours later) must not refund or look up an order a later
      // message named. The turns read the whole thread: the shop's replies to earlier messages may
      // be sent after this one came, and the model must see them (a later message's reply can only
      // be there on a redelivery, whose decisions are read back as recorded). So does the refund
      // guard below: a refund this reaction asked for an earlier message may land after this one.
      const threadAtMessage = thread.filter((e) => e.aggregateVersion <= event.aggregateVersion)
      const opening = thread.find((e) => e.type === "TicketOpened")
      if (opening === undefined || opening.type !== "TicketOpened") return []
      const { tenantId, customerId } = opening.payload
      const orderId =
        message.orderId ??
        threadAtMessage.reduce<string | null>(
          (latest, e) => (e.type === "TicketMessageReceived" ? (e.payload.orderId ?? latest) : latest),
          opening.payload.orderId,
        )
      const steps: Array<Step> = []
      const messageTarget = { kind: "message" as const, id: message.messageId }

      // 1. Untrusted text: cleaned before any model sees it; what it hid or tried is recorded.
      const subject = cleanUntrusted(message.subject)
      const body = cleanUntrusted(message.body)
      const findings = [...subject.findings, ...body.findings]
      const manipulation = isManipulation(findings) ? [...new Set(findings.map((f) => f.code))] : []
      if (findings.length > 0) {
        steps.push({
          _tag: "RecordGuardrail",
          guardrail: "untrusted-input",
          target: messageTarget,
          findings: [...new Set(findings.map((f) => f.code))],
          reason: findings.map((f) => f.detail).join("; "),
          action: manipulation.length > 0 ? "held-for-human" : "cleaned",
        })
      }
      const detailChanges = detailChangeRequests(`${subject.text}\n${body.text}`)
      if (detailChanges.length > 0) {
        steps.push({
          _tag: "RecordGuardrail",
          guardrail: "detail-change",
          target: messageTarget,
          findings: [...new Set(detailChanges.map((d) => d.detail))],
          reason: `the customer asks to change their ${[...new Set(detailChanges.map((d) => d.detail))].join(", ")}: "${detailChanges[0]?.evidence ?? ""}"; a person makes such changes`,
          action: "held-for-human",
        })
      }

      const heldByGuardrails = manipulation.length > 0 || detailChanges.length > 0

      // 2. The customer's history (long-term memory in the read model), within the tenant, as it
      // stood when the message came: the orders placed by then, each as its last change before the
      // message left it, and the tickets opened before it. A reaction that lags (a busy hour, a
      // redelivery, a replay) answers as a prompt one would have, and two runs of one day alike.
      const history = yield* CustomerHistory
      const { orders, earlierTickets } = yield* history.customerAt(tenantId, customerId, ticketId, written)
      const turns = threadBefore(thread, message.contact)
      // The order is the one the message names, else one the thread named (by field, then in its
      // text: the first message's order number still counts at the fiftieth), else the latest. The
      // customer names the shop's own number ("#1001"), and only this tenant's orders are searched.
      const named =
        orderId === null
          ? undefined
          : (orders.find((o) => o.orderId === orderId) ?? orders.find((o) => namesOrder(orderId, o.orderId)))
      const mentioned = [message.body, ...turns.map((t) => t.text).reverse()]
        .map((text) => orders.find((o) => namesOrder(text, o.orderId)))
        .find((o) => o !== undefined)
      const order = named ?? mentioned ?? (orderId === null ? orders[0] : undefined)

      // 3. Triage, decided once per message.
      const triage = yield* decideOnce(
        triageTicket,
        {
          subject: subject.text,
          body: body.text,
          channel: message.channel,
          previousContacts: message.contact - 1 + earlierTickets,
          orderValue: order?.total ?? null,
        },
        { cause: event, agent: options.agent, step: "triageTicket" },
      )
      // A recalled decision stands with the input it was made on, not with what the read model says now.
      const triageInput = Result.getOrUndefined(decodeTriageInput(triage.invocation.input))
      const declined =
        triage.output === null ? (triage.invocation.fallbackReason ?? "triage needs a person") : null
      const intent: typeof TicketIntent.Type = triage.output?.intent ?? "other"
      steps.push({
        _tag: "RecordTriage",
        messageId: message.messageId,
        intent,
        sentiment: triage.output?.sentiment ?? "neutral",
        priority: triage.output?.priority ?? "normal",
        confidence: triage.output?.confidence ?? 0,
        decisionId: triage.event.payload.decisionId,
        escalationReasons: triage.output?.escalationReasons ?? [],
        abstention: declined,
      })

      // 4. A draft from the records only, decided once per message.
      // No article may change the answer to an order-status question about a known order (it is answered
      // from the order), nor to a message that goes to a person whatever the draft says.
      const answeredByOrder = intent === "order_status" && order !== undefined
      const goesToPerson = heldByGuardrails || declined !== null
      // Approved knowledge (never a draft, nor one approved after the message came) like this
      // message, within the tenant, looked up only once triage says the draft may use it. Embedding the message is most of a ticket's work with the
      // offline model (10-40 ms of the encoder's thread here, a call to the model server with
      // Ollama). Started beside triage, it was thrown away for nearly half of a day's messages (an
      // order-status question about a known order, a message triage sends to a person), and on the
      // shop's day the encoder's thread took about half the agent's CPU.
      // An article about a product is cited only for a message about that product
      // (`articleFitsProducts`): the recall leaves room for the ones that do not fit, and the
      // catalogue is read only when there is an article to judge.
      const candidates =
        answeredByOrder || goesToPerson
          ? []
          : yield* (yield* KnowledgeBase).recall(tenantId, `${subject.text}\n${body.text}`, {
              approvedBefore: written.sequence,
              limit: ARTICLES_CITED + 5,
            })
      const articles =
        candidates.length === 0
          ? []
          : yield* Effect.map(history.products(tenantId), (catalogue) =>
              articlesFittingMessage(
                candidates,
                {
                  text: `${subject.text}\n${body.text}`,
                  earlierCustomerTurns: turns.filter((t) => t.from === "customer").map((t) => t.text),
                },
                catalogue,
              ).slice(0, ARTICLES_CITED),
            )
      // A register that cannot be read leaves the line's outlook out; the reply says only what is known.
      const restock =
        order === undefined || order.status !== "paid"
          ? []
          : yield* restockFactsOf(tenantId, order).pipe(
              Effect.catch((error) =>
                Effect.as(
                  Effect.logWarning(`restock outlook of order ${order.orderId} unread: ${String(error)}`),
                  [],
                ),
              ),
            )
      // The stock of products the message asks about, ordered or not; unread, it is left out as above.
      const productStock = heldByGuardrails
        ? []
        : yield* productStockFactsOf(
            tenantId,
            `${subject.text}\n${body.text}`,
            new Set(restock.length > 0 && order !== undefined ? order.waitingForStock : []),
          ).pipe(
            Effect.catch((error) =>
              Effect.as(Effect.logWarning(`stock of the products asked about unread: ${String(error)}`), []),
            ),
          )
      const facts: ReadonlyArray<ReplyFact> = [
        ...(order === undefined ? [] : orderFacts(order)),
        ...restock,
        ...productStock,
        ...articles.map((article) => ({
          id: `${article.articleId}@v${article.version}`,
          kind: article.intent === "product_question" ? "product" : "policy",
          text: article.body,
        })),
      ]
      const draft = yield* decideOnce(
        draftReply,
        {
          ...(opening.payload.customerName === undefined
            ? {}
            : { customerName: opening.payload.customerName }),
          subject: subject.text,
          body: body.text,
          intent,
          facts,
          ...(turns.length === 0 ? {} : { thread: threadWithinBudget(turns, THREAD_BUDGET_TOKENS) }),
        },
        {
          cause: event,
          agent: options.agent,
          step: "draftReply",
          retrieved: [
            ...facts
              .filter((f) => ["order", "shipment", "restock", "stock"].includes(f.kind))
              .map((f) => ({ id: f.id, kind: f.kind, score: 1, similarity: 1 })),
            ...articles.map((a) => ({
              id: `${a.articleId}@v${a.version}`,
              kind: "kb_article",
              score: a.similarity,
              similarity: a.similarity,
            })),
          ],
        },
      )
      const draftedOn = Result.getOrUndefined(decodeDraftInput(draft.invocation.input))?.facts ?? facts
      const queue = policy.queues.escalations
      if (draft.output === null) {
        steps.push({
          _tag: "EscalateTicket",
          messageId: message.messageId,
          reasons: [
            { code: "no-draft", detail: draft.invocation.fallbackReason ?? "no reply could be drafted" },
          ],
          queue,
        })
        return steps.map((command) => ({ aggregateType: "ticket", aggregateId: ticketId, command }))
      }
      steps.push({
        _tag: "RecordDraft",
        messageId: message.messageId,
        draftId,
        body: draft.output.body,
        decisionId: draft.event.payload.decisionId,
        citedFactIds: draft.output.citedFactIds,
      })

      // 5. The draft checked against the records it was drafted from. What goes out is its visible text:
      // anything a model hid in it (a comment, an invisible span) is taken out and the draft held.
      const outgoing = cleanUntrusted(draft.output.body)
      const hidden = outgoing.findings.filter((f) => f.code !== "markup")
      if (hidden.length > 0) {
        steps.push({
          _tag: "RecordGuardrail",
          guardrail: "grounding",
          target: { kind: "draft", id: `${draftId}-hidden` },
          findings: [...new Set(hidden.map((f) => f.code))],
          reason: `the draft hides content: ${hidden.map((f) => f.detail).join("; ")}`,
          action: "held-for-human",
        })
      }
      const promises = ungroundedPromises(draft.output.body, draftedOn)
      if (promises.length > 0) {
        steps.push({
          _tag: "RecordGuardrail",
          guardrail: "grounding",
          target: { kind: "draft", id: draftId },
          findings: [...new Set(promises.map((p) => `ungrounded-${p.kind}`))],
          reason: promises.map((p) => `${p.claim}: ${p.reason}`).join("; "),
          action: "held-for-human",
        })
      }
      const leaked = leaksPrompt(draft.output.body, systemPrompts)
      if (leaked) {
        steps.push({
          _tag: "RecordGuardrail",
          guardrail: "prompt-leak",
          target: { kind: "draft", id: draftId },
          findings: ["system-prompt"],
          reason: "the draft repeats the agent's instructions; it is never sent as it is",
          action: "refused",
        })
      }

      // 6. The reply policy routes it; a refund is asked of the gate, where it waits for a person.
      const previousContacts = triageInput?.previousContacts ?? message.contact - 1 + earlierTickets
      const routing = routeReply(policy, {
        intent,
        sentiment: triage.output?.sentiment ?? "neutral",
        confidence: triage.output?.confidence ?? 0,
        triageDeclined: declined,
        triageReasons: triage.output?.escalationReasons ?? [],
        contact: message.contact,
        earlierTickets: Math.max(0, previousContacts - (message.contact - 1)),
        orderValue: triageInput?.orderValue ?? null,
        manipulation,
        detailChanges: detailChanges.map((d) => d.detail),
        ungroundedPromises: [
          ...promises.map((p) => `${p.claim}: ${p.reason}`),
          ...hidden.map((f) => `the draft hides content: ${f.detail}`),
        ],
        leaksPrompt: leaked,
        citedFacts: draft.output.citedFactIds.length,
        drafterEscalated: draft.output.proposedActions.includes("escalate")
          ? "the drafting model proposed a person take this ticket"
          : null,
      })
      const reasons: Array<DispositionReason> = [...routing.reasons]
      const routedBy = `${policy.name} v${policy.version}`
      const toTicket = () =>
        steps.map((command) => ({ aggregateType: "ticket", aggregateId: ticketId, command }))
      // A reply that is not handed to the gate: it waits for a refund's decision, or for a person.
      const holdReply = (disposition: "escalate" | "await-approval") => {
        steps.push({
          _tag: "RouteReply",
          draftId,
          disposition,
          reasons,
          policy: routedBy,
          actionId: null,
          queue: disposition === "escalate" ? queue : policy.queues.approvals,
        })
        return toTicket()
      }
      const gate = yield* ActionGate
      const cause = { decisionId: draft.event.payload.decisionId, eventId: event.eventId }
      const refundOrder = draftedOn.find((f) => f.kind === "order")?.id.replace(/^order-/, "") ?? null
      const refundAmount = triageInput?.orderValue ?? null
      const wantsRefund = intent === "refund" && draft.output.proposedActions.includes("request-refund")

      // A refund is asked for unless the message itself is suspect (it steers the agent, changes
      // account details, or could not be read): it waits for a person either way, and the signals
      // that would escalate the ticket go with it.
      const suspect = manipulation.length > 0 || detailChanges.length > 0 || declined !== null || leaked
      // An order is refunded once: if this ticket or another already asked for its refund (waiting or
      // paid), a person answers this message, told which refund it is. The ticket's own record is the
      // log's; another ticket's is the read model's (a refund asked a moment ago on another ticket may not
      // be there yet, and then the ticket decider and the person approving are the last guards).
      if (wantsRefund && !suspect && refundOrder !== null) {
        const ticketNow = thread.reduce(
          (state, e) => ticketDecider.evolve(state, e as TicketEvent),
          ticketDecider.initialState(),
        )
        // Not the refund this very message recorded, when it is redelivered.
        const onTicket =
          ticketNow.status === "none" ? undefined : openRefundOf(ticketNow, refundOrder, refundActionId)
        const earlier =
          onTicket === undefined
            ? yield* history.openRefund(tenantId, refundOrder, ticketId)
            : { ...onTicket, ticketId, status: onTicket.status === "issued" ? "issued" : "requested" }
        if (earlier !== undefined) {
          reasons.push({
            code: "refund-already-requested",
            detail: `a refund of ${formatMoney(earlier.amount)} for order ${refundOrder} was already ${
              earlier.status === "issued" ? "paid" : "asked for and waits for its decision"
            }${earlier.ticketId === ticketId ? "" : ` (ticket ${earlier.ticketId})`}; an order is refunded once`,
          })
          return holdReply("escalate")
        }
      }
      // The refund is asked of the gate once the ticket has recorded it (handlers/refunds.ts), so that
      // its outcome always finds it there.
      if (wantsRefund && !suspect && refundOrder !== null && refundAmount != null) {
        steps.push({
          _tag: "RecordRefundRequest",
          orderId: refundOrder,
          amount: refundAmount,
          reason: "the customer asked for a refund",
          actionId: refundActionId,
        })
        // The reply waits for the refund's decision: it goes out once the refund is paid.
        reasons.push({
          code: "refund-pending",
          detail: `the reply goes out once the refund of ${formatMoney(refundAmount)} for order ${refundOrder} is decided`,
        })
        return holdReply(routing.disposition === "escalate" ? "escalate" : "await-approval")
      }

      // Here a refund that is wanted has no order to pay it against: a person sorts it out.
      const disposition = wantsRefund && !suspect ? ("escalate" as const) : routing.disposition
      if (wantsRefund && !suspect) {
        reasons.push({
          code: "refund-without-order",
          detail: "the customer asks for a refund, but no order of theirs is known to refund",
        })
      }
      const raising = reasons.slice(1)
      // A draft that repeats the agent's instructions is never offered for sending, not even to a person.
      if (leaked) {
        return holdReply("escalate")
      }
      yield* gate.request({
        actionId: replyActionId,
        agent: options.agent,
        skill: "draftReply",
        kind: "mailbox.send-message",
        parameters: {
          to: opening.payload.replyTo ?? customerId,
          subject: message.subject.trim().length > 0 ? `Re: ${message.subject.trim()}` : "Re: your message",
          body: outgoing.text,
          inReplyTo: message.messageId,
        },
        cause,
        confidence: triage.output?.confidence ?? null,
        sentiment: triage.output?.sentiment ?? null,
        firstTimeSupplier: null,
        floor:
          disposition === "auto-send"
            ? null
            : {
                mode: gateModeOf(disposition),
                rule: raising[0]?.code ?? reasons[0]?.code ?? "reply-policy",
                reason: (raising.length > 0 ? raising : reasons).map((r) => r.detail).join("; "),
              },
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      steps.push({
        _tag: "RouteReply",
        draftId,
        disposition,
        reasons,
        policy: routedBy,
        actionId: replyActionId,
        queue: disposition === "escalate" ? queue : policy.queues.approvals,
      })
      return toTicket()
    }),
})
