import {
  GuardrailTripped,
  RefundIssued,
  RefundRejected,
  RefundRequested,
  ReplyDrafted,
  ReplyRouted,
  ReplySent,
  TicketEscalated,
  TicketMessageReceived,
  TicketOpened,
  TicketResolved,
  TicketTriaged,
} from "@mesh/contracts"

/** The events of a ticket, the customer domain's `ticket` aggregate. */
export const ticketEvents = [
  TicketOpened,
  TicketMessageReceived,
  TicketTriaged,
  GuardrailTripped,
  ReplyDrafted,
  ReplyRouted,
  TicketEscalated,
  ReplySent,
  RefundRequested,
  RefundIssued,
  RefundRejected,
  TicketResolved,
] as const
