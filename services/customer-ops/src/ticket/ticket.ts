import type {
  Channel,
  DispositionReason,
  EscalationReason,
  GuardrailName,
  Money,
  PayloadOf,
  ReplyDisposition,
  Sentiment,
  TicketIntent,
  TicketTriaged,
} from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel/deciders"
import type { ticketEvents } from "./catalog.ts"

/** A ticket's events, as its decider emits them. */
export type TicketEvent = DecidedEvent<(typeof ticketEvents)[number]>

/** A customer's message as intake hands it over: who, which thread, which channel, what they wrote. */
export interface IncomingMessage {
  readonly tenantId: string
  readonly customerId: string
  readonly customerName: string | null
  /** Where replies go; only the opening message's counts. */
  readonly replyTo: string | null
  readonly threadId: string
  readonly messageId: string
  readonly channel: typeof Channel.Type
  readonly subject: string
  readonly body: string
  readonly orderId: string | null
}

/** The commands of a ticket. Ids and outcomes come in the command: the decider reads no clock and asks nobody. */
export type TicketCommand =
  | ({ readonly _tag: "ReceiveMessage" } & IncomingMessage)
  | ({
      readonly _tag: "RecordTriage"
      readonly messageId: string
    } & Omit<PayloadOf<typeof TicketTriaged>, "messageId">)
  | {
      readonly _tag: "RecordGuardrail"
      readonly guardrail: GuardrailName
      readonly target: { readonly kind: "message" | "draft" | "article"; readonly id: string }
      readonly findings: ReadonlyArray<string>
      readonly reason: string
      readonly action: "cleaned" | "held-for-human" | "refused"
    }
  | {
      readonly _tag: "RecordDraft"
      readonly messageId: string
      readonly draftId: string
      readonly body: string
      readonly decisionId: string
      readonly citedFactIds: ReadonlyArray<string>
    }
  | {
      readonly _tag: "RouteReply"
      readonly draftId: string
      readonly disposition: ReplyDisposition
      readonly reasons: ReadonlyArray<DispositionReason>
      readonly policy: string
      readonly actionId: string | null
      /** The queue a human takes it from, when the disposition needs one. */
      readonly queue: string
    }
  | {
      readonly _tag: "RecordRefundRequest"
      readonly orderId: string
      readonly amount: Money
      readonly reason: string
      readonly actionId: string
    }
  | { readonly _tag: "RecordRefundIssued"; readonly actionId: string; readonly externalRef: string }
  | { readonly _tag: "RecordRefundRefused"; readonly actionId: string; readonly reason: string }
  | {
      readonly _tag: "RecordReplySent"
      readonly draftId: string
      readonly actionId: string
      readonly externalRef: string
    }
  | {
      readonly _tag: "EscalateTicket"
      readonly messageId: string
      readonly reasons: ReadonlyArray<DispositionReason>
      readonly queue: string
    }
  | {
      readonly _tag: "WriteReply"
      readonly messageId: string
      readonly draftId: string
      readonly body: string
      readonly author: string
    }
  | { readonly _tag: "ResolveTicket"; readonly resolution: string }

/** What triage said about the latest message. */
export interface TriageSeen {
  readonly messageId: string
  readonly intent: typeof TicketIntent.Type
  readonly sentiment: typeof Sentiment.Type
  readonly confidence: number
  readonly escalationReasons: ReadonlyArray<EscalationReason>
}

/** A refund of the ticket, by its action id. */
export interface RefundSeen {
  readonly orderId: string
  readonly amount: Money
  readonly status: "requested" | "issued" | "refused"
}

interface TicketFacts {
  readonly tenantId: string
  readonly customerId: string
  readonly threadId: string
  readonly orderId: string | null
  /** Every message id of the thread, in order: a redelivered message is recognised by it. */
  readonly messageIds: ReadonlyArray<string>
  readonly triaged: ReadonlyArray<string>
  /** Draft id by the message it answers. */
  readonly drafts: Readonly<Record<string, string>>
  readonly routed: ReadonlyArray<string>
  readonly sent: ReadonlyArray<string>
  readonly guarded: ReadonlyArray<string>
  readonly refunds: Readonly<Record<string, RefundSeen>>
  readonly escalations: number
  /** Replies people wrote, by draft id. */
  readonly written: ReadonlyArray<string>
  /** The message each reply answers, by draft id (the agent's drafts and people's replies). */
  readonly replyFor: Readonly<Record<string, string>>
  /** Messages a sent reply answered. */
  readonly answered: ReadonlyArray<string>
  /** The messages escalated without a draft. */
  readonly escalatedMessages: ReadonlyArray<string>
  readonly lastTriage: TriageSeen | null
}

/**
 * The refund of an order on this ticket that is waiting for its decision or was paid, if any: an
 * order is refunded once, whichever message asks.
 */
export const openRefundOf = (
  facts: Pick<TicketFacts, "refunds">,
  orderId: string,
  /** A refund not to count: the one the asking message itself recorded, when it is redelivered. */
  except?: string,
): (RefundSeen & { readonly actionId: string }) | undefined => {
  const entry = Object.entries(facts.refunds).find(
    ([actionId, refund]) => actionId !== except && refund.orderId === orderId && refund.status !== "refused",
  )
  return entry === undefined ? undefined : { ...entry[1], actionId: entry[0] }
}

/**
 * The message a reply answers: the one its draft named, else the contact its id carries
 * (`…-m<contact>`), for a reply whose sending was recorded before its draft (the gate can send a reply
 * before the reaction that asked for it has written its steps).
 */
const answeredBy = (
  facts: Pick<TicketFacts, "replyFor" | "messageIds">,
  draftId: string,
): string | undefined => {
  const named = facts.replyFor[draftId]
  if (named !== undefined) return named
  const contact = /-m(\d+)$/.exec(draftId)?.[1]
  return contact === undefined ? undefined : facts.messageIds[Number(contact) - 1]
}

/** A ticket: none yet, open (a message waits for an answer, or a refund for its decision), or resolved. */
export type TicketState =
  | { readonly status: "none" }
  | ({ readonly status: "open" } & TicketFacts)
  | ({ readonly status: "resolved"; readonly resolution: string } & TicketFacts)

const guardKey = (guardrail: string, kind: string, id: string) => `${guardrail}:${kind}:${id}`

const refundsPending = (state: TicketFacts): boolean =>
  Object.values(state.refunds).some((refund) => refund.status === "requested")

const evolveFacts = (facts: TicketFacts, event: TicketEvent): TicketFacts => {
  switch (event.type) {
    case "TicketOpened":
      return facts
    case "TicketMessageReceived":
      return {
        ...facts,
        messageIds: [...facts.messageIds, event.payload.messageId],
        orderId: event.payload.orderId ?? facts.orderId,
      }
    case "TicketTriaged": {
      const messageId = event.payload.messageId ?? facts.messageIds[0] ?? ""
      return {
        ...facts,
        triaged: [...facts.triaged, messageId],
        lastTriage: {
          messageId,
          intent: event.payload.intent,
          sentiment: event.payload.sentiment,
          confidence: event.payload.confidence,
          escalationReasons: event.payload.escalationReasons ?? [],
        },
      }
    }
    case "GuardrailTripped":
      return {
        ...facts,
        guarded: [
          ...facts.guarded,
          guardKey(event.payload.guardrail, event.payload.target.kind, event.payload.target.id),
        ],
      }
    case "ReplyDrafted":
      return {
        ...facts,
        drafts: {
          ...facts.drafts,
          [event.payload.messageId ?? event.payload.draftId]: event.payload.draftId,
        },
        // Early records name no message: a draft answered the latest one of its time.
        replyFor: {
          ...facts.replyFor,
          [event.payload.draftId]: event.payload.messageId ?? facts.messageIds.at(-1) ?? "",
        },
      }
    case "ReplyRouted":
      return { ...facts, routed: [...facts.routed, event.payload.draftId] }
    case "TicketEscalated":
      return {
        ...facts,
        escalations: facts.escalations + 1,
        escalatedMessages:
          event.payload.messageId === undefined
            ? facts.escalatedMessages
            : [...facts.escalatedMessages, event.payload.messageId],
      }
    case "ReplySent": {
      const messageId = answeredBy(facts, event.payload.draftId)
      // A person answers having read the thread: their reply answers every message up to the one it
      // names. The agent's draft answers its own message.
      const index = messageId === undefined ? -1 : facts.messageIds.indexOf(messageId)
      const answers = facts.written.includes(event.payload.draftId)
        ? facts.messageIds.slice(0, index + 1)
        : messageId === undefined
          ? []
          : [messageId]
      return {
        ...facts,
        sent: [...facts.sent, event.payload.draftId],
        answered: [...facts.answered, ...answers.filter((m) => !facts.answered.includes(m))],
      }
    }
    case "RefundRequested":
      return {
        ...facts,
        refunds: {
          ...facts.refunds,
          [event.payload.actionId]: {
            orderId: event.payload.orderId,
            amount: event.payload.amount,
            status: "requested",
          },
        },
      }
    case "RefundIssued": {
      const refund = facts.refunds[event.payload.actionId]
      return refund === undefined
        ? facts
        : {
            ...facts,
            refunds: { ...facts.refunds, [event.payload.actionId]: { ...refund, status: "issued" } },
          }
    }
    case "RefundRejected": {
      // Early records name no action: the order's requested refund is the one refused.
      const named = event.payload.actionId
      const entry = Object.entries(facts.refunds).find(([actionId, refund]) =>
        named === undefined
          ? refund.orderId === event.payload.orderId && refund.status === "requested"
          : actionId === named,
      )
      return entry === undefined
        ? facts
        : { ...facts, refunds: { ...facts.refunds, [entry[0]]: { ...entry[1], status: "refused" } } }
    }
    case "ReplyWrittenByPerson":
      return {
        ...facts,
        written: [...facts.written, event.payload.draftId],
        replyFor: { ...facts.replyFor, [event.payload.draftId]: event.payload.messageId },
      }
    case "TicketResolved":
      return facts
  }
}

/** The ticket decider: threads messages, records triage, drafts and their routing, refunds and replies, each once. */
export const ticketDecider: Decider<TicketCommand, TicketEvent, TicketState> = {
  initialState: () => ({ status: "none" }),
  evolve: (state, event) => {
    if (event.type === "TicketOpened") {
      return {
        status: "open",
        tenantId: event.payload.tenantId,
        customerId: event.payload.customerId,
        threadId: event.payload.threadId ?? "default",
        orderId: event.payload.orderId,
        messageIds: [event.payload.messageId ?? "first"],
        triaged: [],
        drafts: {},
        routed: [],
        sent: [],
        guarded: [],
        refunds: {},
        escalations: 0,
        escalatedMessages: [],
        written: [],
        replyFor: {},
        answered: [],
        lastTriage: null,
      }
    }
    if (state.status === "none") return state
    const facts = evolveFacts(state, event)
    if (event.type === "TicketResolved")
      return { ...facts, status: "resolved", resolution: event.payload.resolution }
    if (event.type === "TicketMessageReceived") return { ...facts, status: "open" }
    return state.status === "open"
      ? { ...facts, status: "open" }
      : { ...facts, status: "resolved", resolution: state.resolution }
  },
  decide: (command, state) => {
    if (command._tag === "ReceiveMessage") {
      if (state.status === "none") {
        return [
          {
            type: "TicketOpened",
            payload: {
              tenantId: command.tenantId,
              customerId: command.customerId,
              channel: command.channel,
              subject: command.subject,
              body: command.body,
              orderId: command.orderId,
              threadId: command.threadId,
              messageId: command.messageId,
              ...(command.customerName === null ? {} : { customerName: command.customerName }),
              ...(command.replyTo === null ? {} : { replyTo: command.replyTo }),
            },
          },
        ]
      }
      // The same message delivered again (a webhook retry, a resent email) joins nothing.
      if (state.messageIds.includes(command.messageId)) return []
      return [
        {
          type: "TicketMessageReceived",
          payload: {
            messageId: command.messageId,
            channel: command.channel,
            subject: command.subject,
            body: command.body,
            orderId: command.orderId,
            contact: state.messageIds.length + 1,
            reopened: state.status === "resolved",
          },
        },
      ]
    }
    if (state.status === "none") throw new TypeError(`ticket does not exist (command ${command._tag})`)
    switch (command._tag) {
      case "RecordTriage": {
        if (state.triaged.includes(command.messageId)) return []
        const { _tag, ...payload } = command
        return [{ type: "TicketTriaged", payload }]
      }
      case "RecordGuardrail": {
        if (state.guarded.includes(guardKey(command.guardrail, command.target.kind, command.target.id)))
          return []
        const { _tag, ...payload } = command
        return [{ type: "GuardrailTripped", payload: { ...payload, findings: [...payload.findings] } }]
      }
      case "RecordDraft": {
        if (state.drafts[command.messageId] !== undefined) return []
        return [
          {
            type: "ReplyDrafted",
            payload: {
              draftId: command.draftId,
              body: command.body,
              decisionId: command.decisionId,
              messageId: command.messageId,
              citedFactIds: [...command.citedFactIds],
            },
          },
        ]
      }
      case "RouteReply": {
        if (state.routed.includes(command.draftId)) return []
        const routed: TicketEvent = {
          type: "ReplyRouted",
          payload: {
            draftId: command.draftId,
            disposition: command.disposition,
            reasons: [...command.reasons],
            policy: command.policy,
            actionId: command.actionId,
          },
        }
        if (command.disposition !== "escalate") return [routed]
        const messageId = Object.entries(state.drafts).find(([, draft]) => draft === command.draftId)?.[0]
        // The intent's own disposition is context, not a reason a person must take the ticket.
        const raising = command.reasons.filter((r) => !r.code.startsWith("intent:"))
        return [
          routed,
          {
            type: "TicketEscalated",
            payload: {
              reason: raising.map((r) => r.detail).join("; ") || "the reply policy escalated it",
              queue: command.queue,
              reasons: raising.map((r) => r.code),
              ...(messageId === undefined ? {} : { messageId }),
            },
          },
        ]
      }
      case "RecordRefundRequest": {
        if (state.refunds[command.actionId] !== undefined) return []
        // One refund per order that is not refused: a second message asking again never pays twice.
        if (openRefundOf(state, command.orderId) !== undefined) return []
        const { _tag, ...payload } = command
        return [{ type: "RefundRequested", payload }]
      }
      case "RecordRefundIssued": {
        const refund = state.refunds[command.actionId]
        if (refund === undefined)
          throw new TypeError(`refund ${command.actionId} was never requested on this ticket`)
        if (refund.status !== "requested") return []
        return [
          {
            type: "RefundIssued",
            payload: {
              orderId: refund.orderId,
              amount: refund.amount,
              actionId: command.actionId,
              externalRef: command.externalRef,
            },
          },
        ]
      }
      case "RecordRefundRefused": {
        const refund = state.refunds[command.actionId]
        if (refund === undefined)
          throw new TypeError(`refund ${command.actionId} was never requested on this ticket`)
        if (refund.status !== "requested") return []
        return [
          {
            type: "RefundRejected",
            payload: { orderId: refund.orderId, reason: command.reason, actionId: command.actionId },
          },
        ]
      }
      case "RecordReplySent": {
        if (state.sent.includes(command.draftId)) return []
        const sent: TicketEvent = {
          type: "ReplySent",
          payload: { draftId: command.draftId, actionId: command.actionId, externalRef: command.externalRef },
        }
        // A ticket is resolved once every message has its answer and nothing is left to decide: a reply
        // to an earlier message leaves it open while a later one waits. The next message reopens it.
        const after = evolveFacts(state, sent)
        const waiting = after.messageIds.some((messageId) => !after.answered.includes(messageId))
        return state.status === "open" && !refundsPending(state) && !waiting
          ? [sent, { type: "TicketResolved", payload: { resolution: "answered" } }]
          : [sent]
      }
      case "EscalateTicket":
        if (state.escalatedMessages.includes(command.messageId)) return []
        return [
          {
            type: "TicketEscalated",
            payload: {
              reason: command.reasons.map((r) => r.detail).join("; ") || "a person must take it",
              queue: command.queue,
              reasons: command.reasons.map((r) => r.code),
              messageId: command.messageId,
            },
          },
        ]
      case "WriteReply": {
        if (state.written.includes(command.draftId)) return []
        if (!state.messageIds.includes(command.messageId))
          throw new TypeError(`message ${command.messageId} is not on this ticket`)
        const { _tag, ...payload } = command
        return [{ type: "ReplyWrittenByPerson", payload }]
      }
      case "ResolveTicket":
        return state.status === "open"
          ? [{ type: "TicketResolved", payload: { resolution: command.resolution } }]
          : []
    }
  },
}
