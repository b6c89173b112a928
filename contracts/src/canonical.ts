import { createHash } from "node:crypto"
import type { ActionParameters } from "./domains/actions.ts"

// Canonical JSON is JSON.stringify with object keys sorted by UTF-16 code unit at every depth (the
// order RFC 8785 uses). Keys are written in an explicit loop rather than by rebuilding objects,
// because JavaScript enumerates integer-like keys ("2", "10") first whatever their insertion order.

const serialise = (value: unknown, key: string, ancestors: Array<object>): string | undefined => {
  let current = value
  if (
    current !== null &&
    typeof current === "object" &&
    typeof (current as { toJSON?: unknown }).toJSON === "function"
  ) {
    current = (current as { toJSON: (key: string) => unknown }).toJSON(key)
  }
  // Boxed primitives serialise as their primitive value, as JSON.stringify does.
  if (current instanceof Number || current instanceof String || current instanceof Boolean) {
    current = current.valueOf()
  }
  if (current === null || typeof current !== "object") {
    // undefined, functions and symbols give undefined (left out of objects, null in arrays);
    // non-finite numbers give "null"; a bigint throws, as in JSON.stringify.
    return typeof current === "function" ? undefined : JSON.stringify(current)
  }
  if (ancestors.includes(current)) throw new TypeError("canonicalJson: the value contains a cycle")
  ancestors.push(current)
  let text: string
  if (Array.isArray(current)) {
    const items = current.map((item, index) => serialise(item, String(index), ancestors) ?? "null")
    text = `[${items.join(",")}]`
  } else {
    const record = current as Record<string, unknown>
    const members: Array<string> = []
    for (const name of Object.keys(record).sort()) {
      const member = serialise(record[name], name, ancestors)
      if (member !== undefined) members.push(`${JSON.stringify(name)}:${member}`)
    }
    text = `{${members.join(",")}}`
  }
  ancestors.pop()
  return text
}

// Otherwise exactly JSON.stringify, except that a top-level value JSON cannot represent
// (undefined, a function) gives "null" rather than undefined.
/** JSON with object keys sorted at every depth, so that equal values have exactly one spelling. */
export const canonicalJson = (value: unknown): string => serialise(value, "", []) ?? "null"

/** The lowercase hex SHA-256 of the canonical JSON of an action's parameters (what an approval is bound to). */
export const parametersHash = (parameters: ActionParameters): string =>
  createHash("sha256").update(canonicalJson(parameters), "utf8").digest("hex")
