import { describe, expect, it } from "vitest"
import { parseSince } from "./since.ts"

describe("mesh tail --since", () => {
  it("reads a duration back from now", () => {
    expect(parseSince("15m")).toEqual({ _tag: "Ago", agoMs: 15 * 60_000 })
    expect(parseSince("90s")).toEqual({ _tag: "Ago", agoMs: 90_000 })
    expect(parseSince("2h")).toEqual({ _tag: "Ago", agoMs: 7_200_000 })
    expect(parseSince("1d")).toEqual({ _tag: "Ago", agoMs: 86_400_000 })
    expect(parseSince("500ms")).toEqual({ _tag: "Ago", agoMs: 500 })
  })

  it("reads an ISO time as an instant", () => {
    expect(parseSince("2026-11-25T10:00:00Z")).toEqual({ _tag: "At", epochMs: Date.UTC(2026, 10, 25, 10) })
    expect(parseSince("2026-11-25")).toEqual({ _tag: "At", epochMs: Date.UTC(2026, 10, 25) })
  })

  it("refuses anything else", () => {
    for (const text of ["yesterday", "15", "m15", "15 minutes", "2026-13-45", ""])
      expect(parseSince(text)).toBeUndefined()
  })
})
