import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily } from "./shared.ts"

// The tickets commands talk to the customer-ops agent's HTTP API, never to its packages: the
// agent owns its read model, and the CLI sees only what the API answers.

const load = () => import("../handlers/tickets.ts")

/** `--url`: the customer-ops agent's HTTP base URL; else MESH_CUSTOMER_OPS_URL. */
const urlFlag = Flag.String("url").pipe(
  Flag.optional,
  Flag.withDescription("the customer-ops agent's HTTP base URL (else MESH_CUSTOMER_OPS_URL)"),
)

const listConfig = {
  status: Flag.Literals("status", ["open", "resolved"]).pipe(
    Flag.optional,
    Flag.withDescription("only open or only resolved tickets"),
  ),
  awaiting: Flag.Literals("awaiting", ["approval", "human"]).pipe(
    Flag.optional,
    Flag.withDescription("only tickets whose reply waits for an approval, or that wait for a person"),
  ),
  customer: Flag.String("customer").pipe(Flag.optional, Flag.withDescription("only this customer's tickets")),
  limit: Flag.Int("limit").pipe(
    Flag.filter(
      (n) => n >= 1 && n <= 1000,
      () => "between 1 and 1000",
    ),
    Flag.optional,
    Flag.withDescription("at most this many tickets, most recently changed first (the agent's default: 100)"),
  ),
  json: jsonFlag,
  url: urlFlag,
}

/** `mesh tickets show <ticket-id>`: one ticket with its thread, drafted reply and routing reasons. */
const showCommand = Command.make(
  "show",
  {
    ticketId: Argument.String("ticket-id").pipe(
      Argument.withDescription("the ticket (`mesh tickets` lists them; `mesh tickets open` prints it)"),
    ),
    json: jsonFlag,
    url: urlFlag,
  },
  (args) => lazily(load, (h) => h.show(args)),
).pipe(
  Command.withDescription(
    "Print one ticket: its triage, thread, drafted reply, the reply policy's disposition and reasons, escalation, refund",
  ),
)

/** `mesh tickets open --customer C --subject S --body B`: a customer's message, through the intake webhook. */
const openCommand = Command.make(
  "open",
  {
    customer: Flag.String("customer").pipe(Flag.withDescription("the customer who writes")),
    subject: Flag.String("subject").pipe(Flag.withDescription("the message's subject")),
    body: Flag.String("body").pipe(Flag.withDescription("the message's text")),
    channel: Flag.Literals("channel", ["email", "chat", "web"]).pipe(
      Flag.withDefault("web"),
      Flag.withDescription("the channel it came by"),
    ),
    replyTo: Flag.String("reply-to").pipe(
      Flag.optional,
      Flag.withDescription("the email address replies go to"),
    ),
    order: Flag.String("order").pipe(Flag.optional, Flag.withDescription("the order it is about")),
    thread: Flag.String("thread").pipe(
      Flag.optional,
      Flag.withDescription("the conversation it belongs to (else its subject threads it)"),
    ),
    messageId: Flag.String("message-id").pipe(
      Flag.optional,
      Flag.withDescription(
        "the message's id (default: a fresh cli-<uuid>); send the same one again to retry without a second message",
      ),
    ),
    json: Flag.Boolean("json").pipe(
      Flag.withDefault(false),
      Flag.withDescription(
        "print the intake's answer as one JSON object (ticketId, messageId, requestId, duplicate)",
      ),
    ),
    url: urlFlag,
  },
  (args) => lazily(load, (h) => h.open(args)),
).pipe(
  Command.withDescription(
    "Send a customer's message to the intake webhook: it opens a ticket (or joins its thread's); prints the ticket id",
  ),
)

/** `mesh tickets [show|open]`: the customer-ops agent's tickets, over its HTTP API. */
export const ticketsCommand = Command.make("tickets", listConfig, (args) =>
  lazily(load, (h) => h.list(args)),
).pipe(
  Command.withDescription(
    "List customer-ops tickets (the default; --status, --awaiting, --customer), show <ticket-id>, open a ticket from a message",
  ),
  Command.withSubcommands([showCommand, openCommand]),
)
