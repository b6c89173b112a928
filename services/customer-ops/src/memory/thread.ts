/**
 * Short-term memory: the thread a reply answers, within a prompt budget. The latest turns go in as
 * they were written; older ones are summarised down to what a later reply needs (order numbers,
 * amounts, dates, tracking numbers, and each turn's first sentence), so a fiftieth message still
 * carries the order number the first one gave.
 */

/** One turn of a thread: the customer's message or the shop's reply. */
export interface ThreadTurn {
  readonly from: "customer" | "shop"
  readonly text: string
}

/** A thread as a prompt carries it. */
export interface ThreadContext {
  /** The older turns in a few lines (empty when every turn fits as written). */
  readonly summary: string
  /** The latest turns, oldest first, as they were written (each cut to the per-turn cap). */
  readonly recent: ReadonlyArray<ThreadTurn>
  /** Turns summarised rather than given whole. */
  readonly summarisedTurns: number
}

/** Tokens, roughly: a word-piece model takes about four characters per token in European languages. */
export const approximateTokens = (text: string): number => Math.ceil(text.length / 4)

/** The share of the budget the latest turns may take; the summary has the rest. */
const RECENT_SHARE = 0.7
/** The longest a single recent turn may be, in tokens (a pasted email is cut, not the thread dropped). */
const TURN_CAP_TOKENS = 400

// What a later reply needs from an early turn, in any of the shop's languages.
const keyFacts: ReadonlyArray<RegExp> = [
  /\b[A-Z]{1,4}-?\d{3,}\b/g, // order, invoice and ticket numbers: O-1001, INV2044
  /\b\d+(?:[.,]\d{2})?\s?(?:€|EUR|USD|GBP|\$|£)|(?:€|\$|£)\s?\d+(?:[.,]\d{2})?/g, // amounts
  /\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b/g, // dates
  /\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{10,}\b/g, // tracking numbers
]

/** The first sentence of a text, flattened and cut to `maxChars` with an ellipsis. */
export const firstSentence = (text: string, maxChars: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  const end = flat.search(/[.!?](\s|$)/)
  const sentence = end === -1 ? flat : flat.slice(0, end + 1)
  return sentence.length > maxChars ? `${sentence.slice(0, maxChars - 1)}…` : sentence
}

const capTurn = (turn: ThreadTurn): ThreadTurn => {
  const maxChars = TURN_CAP_TOKENS * 4
  return turn.text.length > maxChars ? { ...turn, text: `${turn.text.slice(0, maxChars)} [cut]` } : turn
}

/** The facts of the older turns worth keeping: every key fact once, in the order they appeared. */
const factsOf = (turns: ReadonlyArray<ThreadTurn>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const turn of turns)
    for (const pattern of keyFacts) for (const match of turn.text.matchAll(pattern)) seen.add(match[0].trim())
  return [...seen]
}

/**
 * The thread before the message being answered, within `budgetTokens`: as many of the latest turns
 * as fit in most of the budget, and a summary of the rest in what remains. The summary keeps every
 * key fact of the older turns first, then as many of their first sentences as fit, newest first.
 */
export const threadWithinBudget = (turns: ReadonlyArray<ThreadTurn>, budgetTokens: number): ThreadContext => {
  const recent: Array<ThreadTurn> = []
  let used = 0
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = capTurn(turns[i] as ThreadTurn)
    const cost = approximateTokens(turn.text) + 2
    if (used + cost > budgetTokens * RECENT_SHARE) break
    recent.unshift(turn)
    used += cost
  }
  const older = turns.slice(0, turns.length - recent.length)
  if (older.length === 0) return { summary: "", recent, summarisedTurns: 0 }
  const summaryBudget = Math.max(0, budgetTokens - used) * 4
  const facts = factsOf(older)
  let summary = `Earlier in this thread (${older.length} turns).${facts.length > 0 ? ` Key facts: ${facts.join(", ")}.` : ""}`
  if (summary.length > summaryBudget) summary = `${summary.slice(0, Math.max(0, summaryBudget - 1))}…`
  const lines: Array<string> = []
  for (let i = older.length - 1; i >= 0; i--) {
    const turn = older[i] as ThreadTurn
    const line = ` ${turn.from === "customer" ? "Customer" : "Shop"}: ${firstSentence(turn.text, 160)}`
    if (summary.length + lines.reduce((n, l) => n + l.length, 0) + line.length > summaryBudget) break
    lines.unshift(line)
  }
  return { summary: summary + lines.join(""), recent, summarisedTurns: older.length }
}
