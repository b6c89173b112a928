import {
  GuardrailTripped,
  RefundIssued,
  RefundRejected,
  RefundRequested,
  ReplyDrafted,
  ReplyRouted,
  ReplySent,
  ReplyWrittenByPerson,
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
  ReplyWrittenByPerson,
  ReplyRouted,
  TicketEscalated,
  ReplySent,
  RefundRequested,
  RefundIssued,
  RefundRejected,
  TicketResolved,
] as const
