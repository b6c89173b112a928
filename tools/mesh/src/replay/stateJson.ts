/**
 * A decider's state as canonical JSON: Maps as objects (or entry lists when their keys are not
 * strings), Sets as sorted arrays, object keys sorted, so that two replays print the same bytes.
 * Undefined for no state (no decider folds the aggregate's type).
 */
export const stateJson = (state: unknown): string | undefined => {
  if (state === undefined) return undefined
  const normal = (value: unknown): unknown => {
    if (value instanceof Map) {
      const entries = [...value.entries()]
      return entries.every(([k]) => typeof k === "string")
        ? normal(Object.fromEntries(entries))
        : entries.map(([k, v]) => [normal(k), normal(v)])
    }
    if (value instanceof Set)
      return [...value].map(normal).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
    if (Array.isArray(value)) return value.map(normal)
    if (typeof value === "bigint") return value.toString()
    if (typeof value === "object" && value !== null)
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, normal((value as Record<string, unknown>)[k])]),
      )
    return value
  }
  return JSON.stringify(normal(state))
}
