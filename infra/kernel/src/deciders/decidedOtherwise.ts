import { canonicalJson } from "@mesh/contracts"
import type { DomainEvent } from "./decider.ts"

// A command is decided once: sent again under its id (a redelivery, a replay of recorded history
// through the mesh), the handler answers with what the log recorded and decides nothing. Without a
// second look, a replay through changed code could never show where that code now decides
// otherwise: every reaction's command is already in the log. So the handler decides it again, on
// the state the recorded decision was made on, appends nothing, and compares.

/**
 * A command handled before that the code decides otherwise now: on the state its recorded events
 * were decided on, the current decider (given the command as it is sent now) gives other events,
 * or refuses it. The log keeps what was recorded; this only says that it differs.
 */
export interface DecidedOtherwise {
  /** The types of the events the log recorded for the command. */
  readonly recorded: ReadonlyArray<string>
  /** The types of the events decided now, or null when the decider now refuses the command. */
  readonly now: ReadonlyArray<string> | null
  /** The first difference, in words: which event, which field, both values. */
  readonly difference: string
}

const shown = (value: unknown): string => {
  const text = value === undefined ? "nothing" : canonicalJson(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The path of the first place two JSON-like values differ, with both values there; null when they are equal. */
const firstDifference = (
  recorded: unknown,
  now: unknown,
  path: string,
): { path: string; recorded: unknown; now: unknown } | null => {
  if (canonicalJson(recorded) === canonicalJson(now)) return null
  if (Array.isArray(recorded) && Array.isArray(now)) {
    for (let i = 0; i < Math.max(recorded.length, now.length); i++) {
      const found = firstDifference(recorded[i], now[i], `${path}[${i}]`)
      if (found !== null) return found
    }
  }
  if (isRecord(recorded) && isRecord(now)) {
    for (const key of [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort()) {
      const found = firstDifference(recorded[key], now[key], path === "" ? key : `${path}.${key}`)
      if (found !== null) return found
    }
  }
  return { path, recorded, now }
}

/**
 * Compares the events the log recorded for a command with those its decider gives now (or the
 * reason it refuses the command now): undefined when they are the same types with the same
 * payloads, in order (event ids and envelopes aside: they derive from the command's id).
 */
export const decidedOtherwise = (
  recorded: ReadonlyArray<DomainEvent>,
  now: ReadonlyArray<DomainEvent> | { readonly refused: string },
): DecidedOtherwise | undefined => {
  const recordedTypes = recorded.map((e) => e.type)
  if (!Array.isArray(now)) {
    const { refused } = now as { readonly refused: string }
    return { recorded: recordedTypes, now: null, difference: `now refused: ${refused}` }
  }
  const decided = now as ReadonlyArray<DomainEvent>
  const nowTypes = decided.map((e) => e.type)
  if (canonicalJson(recordedTypes) !== canonicalJson(nowTypes))
    return {
      recorded: recordedTypes,
      now: nowTypes,
      difference: `recorded ${shown(recordedTypes)}, now ${shown(nowTypes)}`,
    }
  for (const [i, event] of recorded.entries()) {
    const found = firstDifference(event.payload, decided[i]?.payload, "")
    if (found !== null)
      return {
        recorded: recordedTypes,
        now: nowTypes,
        difference: `${event.type}${found.path === "" ? "" : ` ${found.path}`}: recorded ${shown(found.recorded)}, now ${shown(found.now)}`,
      }
  }
  return undefined
}
