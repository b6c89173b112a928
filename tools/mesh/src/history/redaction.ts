import type { KindPersonalFields } from "@mesh/actions"
import { type PersonalField, personalFieldsOf, type RedactText, redactPersonal } from "@mesh/contracts"
import type { Schema } from "effect"
import type { HistoryCommit } from "./historyFile.ts"

// Redacting exported history. An event's own fields are marked in its contract; an action's
// parameters and answer are whatever its system takes and gives, so those are marked in the
// system's declared API and looked up by the action's kind. A kind no system here declares has all
// of its text redacted: a connector nobody described is assumed to carry personal data.

/** What the redaction needs to know of the build: event payload schemas and action kinds. */
export interface RedactionCatalog {
  readonly payloadOf: (type: string) => Schema.Top | undefined
  readonly kindFields: (kind: string) => KindPersonalFields | undefined
}

const everyString = (value: unknown, redactText: RedactText): unknown => {
  if (typeof value === "string") return redactText(value)
  if (Array.isArray(value)) return value.map((item) => everyString(item, redactText))
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, everyString(v, redactText)]))
  return value
}

interface Envelope {
  readonly type?: unknown
  readonly aggregateType?: unknown
  readonly aggregateId?: unknown
  readonly payload?: unknown
}

/**
 * The commits with their personal data redacted (`redactText` names a redacted text), and the
 * fields it redacted as `<event type>.<path>`. Commits are read in order, so that an action's
 * later events find the kind its request named.
 */
export const redactHistory = (
  commits: ReadonlyArray<HistoryCommit>,
  catalog: RedactionCatalog,
  redactText: RedactText,
): { readonly commits: ReadonlyArray<HistoryCommit>; readonly fields: ReadonlyArray<string> } => {
  const fieldsByType = new Map<string, ReadonlyArray<PersonalField>>()
  const fieldsOf = (type: string) => {
    let fields = fieldsByType.get(type)
    if (fields === undefined) {
      const payload = catalog.payloadOf(type)
      fields = payload === undefined ? [] : personalFieldsOf(payload)
      fieldsByType.set(type, fields)
    }
    return fields
  }
  const redacted = new Set<string>()
  // An action's kind and its compensation's, by `<agent>/<action id>`.
  const kinds = new Map<string, { execute: string; compensate: string | null }>()

  const byKind = (
    type: string,
    field: "parameters" | "result",
    kind: string | null | undefined,
    value: unknown,
  ): unknown => {
    if (value === null || value === undefined) return value
    const declared = typeof kind === "string" ? catalog.kindFields(kind) : undefined
    redacted.add(`${type}.${field}${declared === undefined ? " (all text)" : ""}`)
    return declared === undefined
      ? everyString(value, redactText)
      : redactPersonal(value, declared[field === "parameters" ? "parameters" : "result"], redactText)
  }

  const redactAction = (event: Envelope, payload: Record<string, unknown>): Record<string, unknown> => {
    const type = String(event.type)
    const key = `${String(event.aggregateType)}/${String(event.aggregateId)}`
    switch (type) {
      case "ActionRequested": {
        const compensation = payload.compensation as
          | { kind?: string; parameters?: unknown }
          | null
          | undefined
        kinds.set(key, { execute: String(payload.kind), compensate: compensation?.kind ?? null })
        return {
          ...payload,
          parameters: byKind(type, "parameters", String(payload.kind), payload.parameters),
          ...(compensation === null || compensation === undefined
            ? {}
            : {
                compensation: {
                  ...compensation,
                  parameters: byKind(type, "parameters", compensation.kind, compensation.parameters),
                },
              }),
        }
      }
      case "ActionSucceeded":
        return { ...payload, result: byKind(type, "result", kinds.get(key)?.execute, payload.result) }
      case "ActionCompensationRequested": {
        const known = kinds.get(key)
        kinds.set(key, { execute: known?.execute ?? "", compensate: String(payload.kind) })
        return {
          ...payload,
          parameters: byKind(type, "parameters", String(payload.kind), payload.parameters),
        }
      }
      case "ActionCompensated":
        return { ...payload, result: byKind(type, "result", kinds.get(key)?.compensate, payload.result) }
      default:
        return payload
    }
  }

  const out = commits.map((commit) => ({
    ...commit,
    events: commit.events.map((raw) => {
      const event = raw as Envelope
      if (typeof event.type !== "string" || event.payload === null || typeof event.payload !== "object")
        return raw
      let payload = event.payload as Record<string, unknown>
      const fields = fieldsOf(event.type)
      if (fields.length > 0) {
        for (const field of fields) redacted.add(`${event.type}.${field.path.join(".")}`)
        payload = redactPersonal(payload, fields, redactText) as Record<string, unknown>
      }
      if (commit.domain === "actions") payload = redactAction(event, payload)
      return payload === event.payload ? raw : { ...event, payload }
    }),
  }))
  return { commits: out, fields: [...redacted].sort() }
}
