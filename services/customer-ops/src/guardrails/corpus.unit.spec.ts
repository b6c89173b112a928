import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import {
  loadManipulationCorpus,
  type ManipulationAttempt,
  manipulationCorpusFile,
} from "../testing/manipulationCorpus.ts"
import { detailChangeRequests } from "./detailChange.ts"
import { cleanUntrusted, isManipulation } from "./untrusted.ts"

// The hand-written manipulation corpus: every attempt must be caught by one of the guardrails.

type Attempt = ManipulationAttempt

const lines = readFileSync(manipulationCorpusFile, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
const attempts: ReadonlyArray<Attempt> = loadManipulationCorpus()

const hiddenCodes = new Set(["hidden-comment", "hidden-styled-text", "invisible-characters"])

const isCaught = (attempt: Attempt): boolean => {
  const cleaned = cleanUntrusted(attempt.body)
  return (
    isManipulation(cleaned.findings) ||
    detailChangeRequests(cleaned.text).length > 0 ||
    (attempt.channel === "knowledge" && cleaned.findings.some((finding) => hiddenCodes.has(finding.code)))
  )
}

describe("the manipulation corpus", () => {
  it("decodes line by line with unique ids", () => {
    expect(attempts).toHaveLength(lines.length)
    expect(new Set(attempts.map((attempt) => attempt.id)).size).toBe(attempts.length)
  })

  it("holds at least 72 attempts, 52 by chat or email and 12 in knowledge articles", () => {
    expect(attempts.length).toBeGreaterThanOrEqual(72)
    expect(attempts.filter((attempt) => attempt.channel !== "knowledge").length).toBeGreaterThanOrEqual(52)
    expect(attempts.filter((attempt) => attempt.channel === "knowledge").length).toBeGreaterThanOrEqual(12)
  })

  it("covers every technique and the required languages", () => {
    expect(new Set(attempts.map((attempt) => attempt.technique)).size).toBe(12)
    const languages = new Set(attempts.map((attempt) => attempt.language))
    for (const language of ["en", "de", "fr", "es", "it", "nl", "pt", "pl", "tr"])
      expect(languages).toContain(language)
  })

  it("catches every attempt", () => {
    const missed = attempts.filter((attempt) => !isCaught(attempt)).map((attempt) => attempt.id)
    expect(missed).toEqual([])
  })
})
