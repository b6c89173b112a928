import {
  type CustomerCommand,
  customerEvents,
  type EventEnvelope,
  type EventOf,
  makeCatalog,
  type TicketIntent,
} from "@mesh/contracts"
import {
  type AggregateDefinition,
  agentHostLayerFromConfig,
  type DecidedEvent,
  type Decider,
  defineAgent,
  type ReactorDefinition,
  runAgentMain,
} from "@mesh/kernel"
import { DecisionRecorder, decideOnce, ModelProvider } from "@mesh/models"
import { type SampleTopic, sortMessage } from "@mesh/models/testing"
import { Effect, Layer, Result, Schema } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { actionCatalog } from "../action/actionCommands.ts"
import { Approvals } from "../approvals/approvals.ts"
import { approvalsRoutes } from "../approvals/approvalsRoutes.ts"
import { ApproverTokens } from "../approvals/approverTokens.ts"
import { ConnectorRegistry } from "../connectors/registry.ts"
import { ActionGate } from "../gate/actionGate.ts"
import { decodePolicy } from "../policy/actionPolicy.ts"
import { actionExecutorWorker, actionsProjectionWorker } from "../workers.ts"

// A small help desk that shows one causal chain end to end: a ticket opened over HTTP, triaged by
// a skill, a refund asked of the gate and approved by a human, the refund paid, a reply sent. It
// is a test agent, not the customer-ops agent: just enough domain to walk the tree.

/** The help desk's name. */
export const helpDeskName = "help-desk"

const helpDeskCatalog = makeCatalog([...customerEvents, ...actionCatalog.definitions])
type HelpDeskDefs = (typeof helpDeskCatalog.definitions)[number]
type TicketEvent = Extract<
  DecidedEvent<HelpDeskDefs>,
  { readonly type: (typeof customerEvents)[number]["type"] }
>

type TicketCommand =
  | Extract<CustomerCommand, { readonly _tag: "OpenTicket" | "TriageTicket" }>
  | {
      readonly _tag: "RecordRefundRequest"
      readonly orderId: string
      readonly amountMinor: number
      readonly actionId: string
    }
  | {
      readonly _tag: "RecordReply"
      readonly draftId: string
      readonly actionId: string
      readonly externalRef: string
    }

type TicketState =
  | { readonly status: "none" }
  | {
      readonly status: "open"
      readonly customerId: string
      readonly orderId: string | null
      readonly intent: string | null
    }

const ticketDecider: Decider<TicketCommand, TicketEvent, TicketState> = {
  initialState: () => ({ status: "none" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "TicketOpened":
        return {
          status: "open",
          customerId: event.payload.customerId,
          orderId: event.payload.orderId,
          intent: null,
        }
      case "TicketTriaged":
        return state.status === "open" ? { ...state, intent: event.payload.intent } : state
      case "TicketMessageReceived":
      case "TicketEscalated":
      case "ReplyDrafted":
      case "ReplyRouted":
      case "GuardrailTripped":
      case "OrderPlaced":
      case "OrderStatusChanged":
      case "ReplyWrittenByPerson":
      case "KnowledgeDrafted":
      case "KnowledgeApproved":
      case "KnowledgeRefused":
      case "KnowledgeRetired":
      case "ReplySent":
      case "RefundRequested":
      case "RefundIssued":
      case "RefundRejected":
      case "TicketResolved":
        return state
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "OpenTicket": {
        if (state.status !== "none") return []
        const { ticketId: _id, ...payload } = command
        return [{ type: "TicketOpened", payload: { ...payload } }]
      }
      case "TriageTicket": {
        if (state.status !== "open" || state.intent !== null) return []
        const { ticketId: _id, _tag, ...payload } = command
        return [{ type: "TicketTriaged", payload }]
      }
      case "RecordRefundRequest":
        return [
          {
            type: "RefundRequested",
            payload: {
              orderId: command.orderId,
              amount: { amountMinor: command.amountMinor, currency: "EUR" },
              reason: "the customer asked for a refund",
              actionId: command.actionId,
            },
          },
        ]
      case "RecordReply":
        return [
          {
            type: "ReplySent",
            payload: {
              draftId: command.draftId,
              actionId: command.actionId,
              externalRef: command.externalRef,
            },
          },
        ]
    }
  },
}

const ticketAggregate: AggregateDefinition<HelpDeskDefs, TicketCommand, TicketState> = {
  domain: "customer",
  type: "ticket",
  decider: ticketDecider as Decider<TicketCommand, DecidedEvent<HelpDeskDefs>, TicketState>,
}

/** Refunds wait for a human; replies go out on their own. */
export const helpDeskPolicy = Result.getOrThrow(
  decodePolicy(
    {
      workflow: helpDeskName,
      version: "1",
      approvalTtl: "PT1H",
      defaultMode: "require-approval",
      kinds: {
        "payment.refund": { mode: "require-approval", rules: [] },
        "mailbox.send-message": { mode: "auto", rules: [] },
      },
      quotas: {},
      skills: { sortMessage: ["payment.refund"], draftReply: ["mailbox.send-message"] },
    },
    `${helpDeskName} test policy`,
  ),
)

// The models package's sample skill sorts a message by topic; the help desk records that as the ticket's intent.
const intentOf: Record<SampleTopic, typeof TicketIntent.Type> = {
  refund: "refund",
  delivery: "order_status",
  other: "other",
}

/** Triage: each new ticket is decided once by the sample skill, however often it is delivered. */
const triage: ReactorDefinition<HelpDeskDefs, unknown, ModelProvider | DecisionRecorder> = {
  name: "help-desk-triage",
  consumes: { domain: "customer" },
  eventTypes: ["TicketOpened"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "TicketOpened") return []
      const decided = yield* decideOnce(
        sortMessage,
        { subject: event.payload.subject, body: event.payload.body },
        { cause: event as EventEnvelope, agent: helpDeskName },
      )
      const output = decided.output
      if (output === null) return []
      return [
        {
          aggregateType: "ticket",
          aggregateId: event.aggregateId,
          command: {
            _tag: "TriageTicket",
            ticketId: event.aggregateId,
            intent: intentOf[output.topic],
            sentiment: "neutral",
            priority: output.urgent ? "urgent" : "normal",
            confidence: output.confidence,
            decisionId: decided.decisionId,
          },
        },
      ]
    }),
}

const refundOf = (ticketId: string) => `refund-${ticketId}`
const replyOf = (ticketId: string) => `reply-${ticketId}`

/** A ticket triaged as a refund asks the gate for the refund (which waits for a human). */
const refunds: ReactorDefinition<HelpDeskDefs, unknown, ActionGate> = {
  name: "help-desk-refunds",
  consumes: { domain: "customer" },
  eventTypes: ["TicketTriaged", "TicketOpened"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "TicketTriaged" || event.payload.intent !== "refund") return []
      const gate = yield* ActionGate
      yield* gate.request({
        actionId: refundOf(event.aggregateId),
        agent: helpDeskName,
        skill: "sortMessage",
        kind: "payment.refund",
        parameters: {
          orderId: `O-${event.aggregateId}`,
          amountMinor: 4_990,
          currency: "EUR",
          reason: "damaged",
        },
        cause: { decisionId: event.payload.decisionId, eventId: event.eventId },
        confidence: event.payload.confidence,
        sentiment: event.payload.sentiment,
        firstTimeSupplier: null,
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      return [
        {
          aggregateType: "ticket",
          aggregateId: event.aggregateId,
          command: {
            _tag: "RecordRefundRequest",
            orderId: `O-${event.aggregateId}`,
            amountMinor: 4_990,
            actionId: refundOf(event.aggregateId),
          },
        },
      ]
    }),
}

/** A refund paid is followed by a reply to the customer; a reply sent is noted on the ticket. */
const replies: ReactorDefinition<HelpDeskDefs, unknown, ActionGate> = {
  name: "help-desk-replies",
  consumes: { domain: "actions" },
  eventTypes: ["ActionSucceeded"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "ActionSucceeded") return []
      const ticketId = event.aggregateId.replace(/^(refund|reply)-/, "")
      if (event.aggregateId === refundOf(ticketId)) {
        const gate = yield* ActionGate
        yield* gate.request({
          actionId: replyOf(ticketId),
          agent: helpDeskName,
          skill: "draftReply",
          kind: "mailbox.send-message",
          parameters: {
            to: `${ticketId}@example.com`,
            subject: `Re: ticket ${ticketId}`,
            body: "Your refund is on its way.",
          },
          cause: { decisionId: null, eventId: event.eventId },
          confidence: null,
          sentiment: null,
          firstTimeSupplier: null,
          correlationId: event.correlationId,
          causationId: event.eventId,
        })
        return []
      }
      if (event.aggregateId === replyOf(ticketId)) {
        return [
          {
            aggregateType: "ticket",
            aggregateId: ticketId,
            command: {
              _tag: "RecordReply",
              draftId: `draft-${ticketId}`,
              actionId: event.aggregateId,
              externalRef: event.payload.externalRef,
            },
          },
        ]
      }
      return []
    }),
}

/** The body of a ticket opened over HTTP, decoded at the edge. */
const OpenTicketBody = Schema.Struct({
  requestId: Schema.String,
  ticketId: Schema.String,
  customerId: Schema.String,
  subject: Schema.String,
  body: Schema.String,
})

type HelpDeskServices =
  | ModelProvider
  | DecisionRecorder
  | ActionGate
  | ConnectorRegistry
  | Approvals
  | ApproverTokens

/** The help desk: tickets, triage, refunds through the gate, replies, and the approvals API. */
export const helpDeskAgent = defineAgent<HelpDeskDefs, HelpDeskServices>({
  name: helpDeskName,
  catalog: helpDeskCatalog,
  aggregates: [ticketAggregate],
  reactors: [triage, refunds, replies],
  workers: [
    actionsProjectionWorker(),
    actionExecutorWorker({
      retry: { initialMs: 20, maxMs: 200, factor: 2 },
      sweep: { everyMs: 500, staleAfterMs: 5_000 },
    }),
  ],
  routes: [
    approvalsRoutes,
    // The intake webhook: the request is recorded before the ticket is opened, as the chain's root.
    (context) =>
      HttpRouter.add("POST", "/tickets", (request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function* () {
          const body = yield* Effect.flatMap(request.json, Schema.decodeUnknownEffect(OpenTicketBody))
          const { request: recorded } = yield* context.receive(
            {
              requestId: body.requestId,
              name: "OpenTicket",
              origin: "http",
              actor: { kind: "human", id: body.customerId },
              body,
            },
            [
              {
                aggregateType: "ticket",
                aggregateId: body.ticketId,
                command: {
                  _tag: "OpenTicket",
                  ticketId: body.ticketId,
                  tenantId: "shop",
                  customerId: body.customerId,
                  channel: "web",
                  subject: body.subject,
                  body: body.body,
                  orderId: `O-${body.ticketId}`,
                },
              },
            ],
          )
          return HttpServerResponse.jsonUnsafe(
            { requestId: recorded.event.payload.requestId },
            { status: 202 },
          )
        }).pipe(
          Effect.catch((error) =>
            Effect.succeed(HttpServerResponse.jsonUnsafe({ error: String(error) }, { status: 400 })),
          ),
        ),
      ),
  ],
})

/** Its whole wiring, from the environment. */
export const helpDeskLayer = Layer.mergeAll(
  ActionGate.layer({ agent: helpDeskName, policy: helpDeskPolicy }),
  Approvals.layer({ agent: helpDeskName, approvalTtlMs: helpDeskPolicy.approvalTtlMs }),
  ModelProvider.layerOffline,
  DecisionRecorder.layerFromConfig,
  ConnectorRegistry.layerFromConfig,
  ApproverTokens.layerFromConfig,
).pipe(Layer.provideMerge(agentHostLayerFromConfig(helpDeskName)))

/** A help desk event, for the test walking its tree. */
export type HelpDeskEvent = EventOf<HelpDeskDefs>

if (import.meta.main) runAgentMain(helpDeskAgent, helpDeskLayer)
