import { Channel, EscalationReason, Sentiment, TicketIntent } from "@mesh/contracts"
import { Result, Schema } from "effect"
import type { TriageInput } from "../skills/tasks.ts"

// A labelled customer message, one JSON object per line: the corpus the offline triage model is trained on, its
// frozen holdout, and any file a support lead brings to `mesh eval triageTicket --file`. The first seven fields
// are required; the rest describe the ticket's context or the label in more detail. Documented in
// services/customer-ops/corpus/triage/POLICY.md and the README.

const Text = Schema.String.check(Schema.isMinLength(1, { message: "must not be empty" }))
const Amount = Schema.Union([
  Schema.String.check(
    Schema.isPattern(/^\d+(\.\d{1,2})?$/, { message: 'must be an amount such as "649.00"' }),
  ),
  Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
])

/** One labelled message. */
export const LabelledTicket = Schema.Struct({
  id: Text,
  channel: Channel,
  subject: Schema.optionalKey(Schema.String),
  text: Text,
  intent: TicketIntent,
  sentiment: Sentiment,
  mustEscalate: Schema.Boolean,
  reasons: Schema.optionalKey(Schema.Array(EscalationReason)),
  lang: Schema.optionalKey(Schema.String),
  previousContacts: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  orderValue: Schema.optionalKey(Schema.NullOr(Amount)),
  currency: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^[A-Z]{3}$/, { message: "must be an ISO-4217 code such as EUR" })),
  ),
  customerTier: Schema.optionalKey(Schema.Literals(["standard", "vip"])),
  style: Schema.optionalKey(Schema.String),
})
/** One labelled message. */
export type LabelledTicket = typeof LabelledTicket.Type

/** A line that could not be read, by its 1-based line number. */
export interface RejectedLine {
  readonly line: number
  readonly message: string
}

/** What a labelled file holds: the rows that parsed and the lines that did not. */
export interface LabelledFile {
  readonly rows: ReadonlyArray<LabelledTicket>
  readonly rejected: ReadonlyArray<RejectedLine>
}

const JsonLine = Schema.fromJsonString(Schema.Unknown)
const decodeTicket = Schema.decodeUnknownResult(LabelledTicket)

/**
 * Reads a JSON-lines file of labelled messages. Blank lines are skipped; a line that is not JSON, does not
 * match the shape, or repeats an earlier id is reported by its line number and left out. Nothing is fatal.
 */
export const parseLabelledTickets = (text: string): LabelledFile => {
  const rows: Array<LabelledTicket> = []
  const rejected: Array<RejectedLine> = []
  const ids = new Set<string>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "") continue
    const json = Schema.decodeUnknownResult(JsonLine)(line)
    if (Result.isFailure(json)) {
      rejected.push({ line: i + 1, message: "is not valid JSON" })
      continue
    }
    const decoded = decodeTicket(json.success)
    if (Result.isFailure(decoded)) {
      rejected.push({ line: i + 1, message: decoded.failure.message.replace(/\s+/g, " ") })
      continue
    }
    if (ids.has(decoded.success.id)) {
      rejected.push({ line: i + 1, message: `repeats the id "${decoded.success.id}"` })
      continue
    }
    ids.add(decoded.success.id)
    rows.push(decoded.success)
  }
  return { rows, rejected }
}

/** The triage input of a labelled message: its text and whatever context it carries. */
export const triageInputOf = (ticket: LabelledTicket): TriageInput => {
  const amount = ticket.orderValue
  return {
    subject: ticket.subject ?? "",
    body: ticket.text,
    channel: ticket.channel,
    ...(ticket.customerTier === undefined ? {} : { customerTier: ticket.customerTier }),
    ...(ticket.previousContacts === undefined ? {} : { previousContacts: ticket.previousContacts }),
    ...(amount === undefined || amount === null
      ? {}
      : {
          orderValue: {
            amountMinor: Math.round(Number(amount) * 100),
            currency: ticket.currency ?? "EUR",
          },
        }),
  }
}
