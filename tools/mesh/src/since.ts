/** What `--since` names: an instant, or a duration back from when the command runs. */
export type Since =
  | { readonly _tag: "At"; readonly epochMs: number }
  | { readonly _tag: "Ago"; readonly agoMs: number }

const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/**
 * Parses `15m`, `90s`, `2h`, `1d`, `500ms` as a duration back from now, or an ISO-8601 time
 * (`2026-11-25T10:00:00Z`, `2026-11-25`) as an instant; undefined for anything else.
 */
export const parseSince = (text: string): Since | undefined => {
  const value = text.trim()
  const duration = DURATION.exec(value)
  if (duration !== null) {
    return { _tag: "Ago", agoMs: Number(duration[1]) * unitMs[duration[2] as keyof typeof unitMs] }
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined
  const epochMs = Date.parse(value)
  return Number.isNaN(epochMs) ? undefined : { _tag: "At", epochMs }
}

/** The instant a `Since` names, in epoch milliseconds, with `now` as the time the command runs. */
export const instantOf = (since: Since, now: number): number =>
  since._tag === "At" ? since.epochMs : now - since.agoMs
