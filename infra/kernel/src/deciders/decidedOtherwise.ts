import { canonicalJson, type EventCatalog, measurementFieldsOf, personalFieldsOf } from "@mesh/contracts"
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

/**
 * What the comparison knows of an event type's fields (read from its schema): where personal data
 * sits, whose values a difference names without showing them (it goes to logs and `/status`), and
 * where measurements of how the decision was carried out sit (a model call's time), which differ on
 * every run and are not compared. Paths are property names, `[]` for every element of an array.
 */
export interface ComparedFields {
  readonly personal: ReadonlyArray<ReadonlyArray<string>>
  readonly measurements: ReadonlyArray<ReadonlyArray<string>>
}

/** The fields of an event type as its catalogue declares them; none for a type it does not know. */
export const comparedFieldsOf =
  (catalog: EventCatalog) =>
  (type: string): ComparedFields => {
    const payload = catalog.get(type)?.payload
    return payload === undefined
      ? noMarkedFields
      : {
          personal: personalFieldsOf(payload).map((f) => f.path),
          measurements: measurementFieldsOf(payload),
        }
  }

const noMarkedFields: ComparedFields = { personal: [], measurements: [] }

const shown = (value: unknown): string => {
  const text = value === undefined ? "nothing" : canonicalJson(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Whether `path` (with array positions as `[]`) is one of `fields` or inside one. */
const within = (path: ReadonlyArray<string>, fields: ReadonlyArray<ReadonlyArray<string>>): boolean =>
  fields.some((field) => field.length <= path.length && field.every((name, i) => name === path[i]))

interface Difference {
  readonly path: string
  readonly personal: boolean
  readonly recorded: unknown
  readonly now: unknown
}

/** The first place two JSON-like values differ, outside measurements, with both values there; null when none. */
const firstDifference = (
  recorded: unknown,
  now: unknown,
  path: string,
  schemaPath: ReadonlyArray<string>,
  fields: ComparedFields,
): Difference | null => {
  if (within(schemaPath, fields.measurements)) return null
  if (canonicalJson(recorded) === canonicalJson(now)) return null
  if (Array.isArray(recorded) && Array.isArray(now)) {
    for (let i = 0; i < Math.max(recorded.length, now.length); i++) {
      const found = firstDifference(recorded[i], now[i], `${path}[${i}]`, [...schemaPath, "[]"], fields)
      if (found !== null) return found
    }
    return null
  }
  if (isRecord(recorded) && isRecord(now)) {
    for (const key of [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort()) {
      const found = firstDifference(
        recorded[key],
        now[key],
        path === "" ? key : `${path}.${key}`,
        [...schemaPath, key],
        fields,
      )
      if (found !== null) return found
    }
    return null
  }
  // A value that holds a personal field (a struct one side has and the other lacks) is personal too.
  const personal =
    within(schemaPath, fields.personal) ||
    fields.personal.some(
      (field) => field.length > schemaPath.length && schemaPath.every((n, i) => n === field[i]),
    )
  return { path, personal, recorded, now }
}

/**
 * Compares the events the log recorded for a command with those its decider gives now (or the
 * reason it refuses the command now): undefined when they are the same types with the same
 * payloads, in order (event ids and envelopes aside: they derive from the command's id; and the
 * measurements `fieldsOf` names aside). A personal field that differs is named, its values not shown.
 */
export const decidedOtherwise = (
  recorded: ReadonlyArray<DomainEvent>,
  now: ReadonlyArray<DomainEvent> | { readonly refused: string },
  fieldsOf: (type: string) => ComparedFields = () => noMarkedFields,
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
    const found = firstDifference(event.payload, decided[i]?.payload, "", [], fieldsOf(event.type))
    if (found !== null) {
      const where = `${event.type}${found.path === "" ? "" : ` ${found.path}`}`
      return {
        recorded: recordedTypes,
        now: nowTypes,
        difference: found.personal
          ? `${where}: differs (personal data, not shown)`
          : `${where}: recorded ${shown(found.recorded)}, now ${shown(found.now)}`,
      }
    }
  }
  return undefined
}
