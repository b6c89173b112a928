import { decodedChunks } from "./encodings.ts"
import { decodeEntities, type HiddenContent, visibleTextOf } from "./html.ts"
import { lineSignals, type SignalCode, signals } from "./signals.ts"
import { fold, joinSpacedLetters, normaliseWhitespace, removeInvisible, squashedOf, wordsOf } from "./text.ts"

// Customer messages, pasted emails and knowledge articles are data, never instructions. Cleaning
// keeps what a person would read, removes what they would not, makes our prompt delimiters
// impossible to forge, and reports every trace of an attempt to steer the agent.

/** What cleaning found in untrusted text. */
export type UntrustedFindingCode =
  | "hidden-comment"
  | "hidden-styled-text"
  | "markup"
  | "invisible-characters"
  | "prompt-delimiter"
  | "encoded-payload"
  | "instruction-override"
  | "fake-system-notice"
  | "role-claim"
  | "prompt-extraction"

/** One finding, with a short human-readable detail. */
export interface UntrustedFinding {
  readonly code: UntrustedFindingCode
  readonly detail: string
}

/** Untrusted text as it may be shown to a model, and what cleaning found in it. */
export interface CleanedText {
  readonly text: string
  readonly findings: ReadonlyArray<UntrustedFinding>
}

const manipulationCodes: ReadonlySet<UntrustedFindingCode> = new Set<SignalCode>([
  "instruction-override",
  "fake-system-notice",
  "role-claim",
  "prompt-extraction",
])

// A letters-only match shorter than this occurs by chance where unrelated words meet.
const minimumLettersMatch = 14
// Decoded text is searched again for encodings inside it, this many levels deep.
const maximumDecodingDepth = 2

const snippet = (text: string, length = 80): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= length ? flat : `${flat.slice(0, length - 1)}…`
}

// Our prompt blocks are opened and closed by these names; text that spells one (in any case, with
// look-alike letters) must not be able to close the block it sits in or open a new one.
const delimiterNames = new Set([
  "input",
  "untrusted",
  "system",
  "sys",
  "instruction",
  "instructions",
  "assistant",
  "user",
  "human",
  "tool",
  "prompt",
  "context",
  "knowledge",
  "customer",
  "im_start",
  "im_end",
  "endoftext",
  "startoftext",
])

const angleTag = /<\s*(\/?)\s*([^\s<>/]{1,40})((?:\s[^<>]{0,300})?)>/g
const pipeToken = /<\|([^<>|]{0,40})\|>/g
const doubleAngle = /<<\s*(\/?\s*sys)\s*>>/gi
const instToken = /\[\s*(\/?\s*inst)\s*\]/gi

const isDelimiterName = (name: string): boolean => delimiterNames.has(fold(name).replace(/[^a-z_]/g, ""))

/** Replaces anything that could open or close one of our prompt blocks with visible look-alikes. */
export const neutraliseDelimiters = (
  text: string,
): { readonly text: string; readonly neutralised: ReadonlyArray<string> } => {
  const neutralised: Array<string> = []
  const note = (token: string): void => {
    neutralised.push(snippet(token, 40))
  }
  const out = text
    .replace(pipeToken, (whole, inner: string) => {
      note(whole)
      return `‹|${inner}|›`
    })
    .replace(doubleAngle, (whole, inner: string) => {
      note(whole)
      return `‹‹${inner}››`
    })
    .replace(instToken, (whole, inner: string) => {
      note(whole)
      return `(${inner})`
    })
    .replace(angleTag, (whole, slash: string, name: string, rest: string) => {
      if (!isDelimiterName(name)) return whole
      note(whole)
      return `‹${slash}${name}${rest}›`
    })
    .split("\n")
    .map((line) => {
      if (!/^[\s>*"'`]*mesh[\s_-]*task\s*:/.test(fold(line))) return line
      note(line)
      return line.replace(/^([\s>*"'`]*)([^:]*):/, "$1($2):")
    })
    .join("\n")
  return { text: out, neutralised }
}

/** Signals of steering in already visible text, each with the phrase that matched. */
const signalsIn = (text: string): ReadonlyArray<UntrustedFinding> => {
  const found = new Map<string, UntrustedFinding>()
  const add = (code: SignalCode, detail: string): void => {
    const key = `${code}|${detail}`
    if (!found.has(key)) found.set(key, { code, detail })
  }
  const folded = fold(text)
  const views = new Set([wordsOf(folded), wordsOf(joinSpacedLetters(folded))])
  const letters = squashedOf(folded)
  for (const signal of signals) {
    let matched = false
    for (const words of views) {
      const match = signal.words.exec(words)
      if (match !== null) {
        add(signal.code, `${signal.language}: "${snippet(match[0])}"`)
        matched = true
        break
      }
    }
    if (matched) continue
    const match = signal.letters.exec(letters)
    if (match !== null && match[0].length >= minimumLettersMatch) {
      add(signal.code, `${signal.language}, letters only: "${snippet(match[0])}"`)
    }
  }
  for (const signal of lineSignals) {
    const match = signal.pattern.exec(folded)
    if (match !== null) add(signal.code, `"${snippet(match[0])}"`)
  }
  return [...found.values()]
}

// Steering signals in a text, and in whatever readable text its encodings hide.
const steeringIn = (text: string, depth: number): ReadonlyArray<UntrustedFinding> => {
  const direct = signalsIn(text)
  if (depth >= maximumDecodingDepth) return direct
  const decoded = decodedChunks(text).flatMap((chunk): ReadonlyArray<UntrustedFinding> => {
    const inner = steeringIn(
      normaliseWhitespace(removeInvisible(chunk.text).text.normalize("NFKC")),
      depth + 1,
    )
    const steering = inner.filter((finding) => manipulationCodes.has(finding.code))
    if (steering.length === 0) {
      return chunk.encoding === "base64" || chunk.encoding === "hex" || chunk.encoding === "binary"
        ? [
            {
              code: "encoded-payload",
              detail: `${chunk.encoding} decodes to readable text: "${snippet(chunk.text)}"`,
            },
          ]
        : []
    }
    return [
      {
        code: "encoded-payload",
        detail: `${chunk.encoding} decodes to steering text: "${snippet(chunk.text)}"`,
      },
      ...inner.map((finding) => ({ code: finding.code, detail: `in ${chunk.encoding}: ${finding.detail}` })),
    ]
  })
  return [...direct, ...decoded]
}

const hiddenCode = (kind: HiddenContent["kind"]): UntrustedFindingCode =>
  kind === "comment" ? "hidden-comment" : kind === "styled" ? "hidden-styled-text" : "markup"

const dedupe = (findings: ReadonlyArray<UntrustedFinding>): ReadonlyArray<UntrustedFinding> => {
  const seen = new Set<string>()
  return findings.filter((finding) => {
    const key = `${finding.code}|${finding.detail}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * Texts cleaned lately, most recent last. One message is cleaned several times on its way (the
 * answer, its draft's guardrails, the thread of the ticket's next message, the reply sent), and a
 * clean costs about a hundred regular expressions over it (measured on the shop's day: 5% of the
 * agent's CPU). The clean is a pure function of the text, so a kept result is the same answer.
 */
const recentlyCleaned = new Map<string, CleanedText>()
const RECENTLY_CLEANED = 512

/** Cleans untrusted text before any model sees it. */
export const cleanUntrusted = (raw: string): CleanedText => {
  const kept = recentlyCleaned.get(raw)
  if (kept !== undefined) return kept
  const cleaned = cleanOnce(raw)
  recentlyCleaned.set(raw, cleaned)
  if (recentlyCleaned.size > RECENTLY_CLEANED)
    recentlyCleaned.delete(recentlyCleaned.keys().next().value as string)
  return cleaned
}

const cleanOnce = (raw: string): CleanedText => {
  const findings: Array<UntrustedFinding> = []
  const first = removeInvisible(raw)
  const early = neutraliseDelimiters(first.text)
  const markup = visibleTextOf(early.text)
  const second = removeInvisible(decodeEntities(markup.text))
  const late = neutraliseDelimiters(second.text.normalize("NFKC"))
  const text = normaliseWhitespace(late.text)

  const invisible = first.removed + second.removed
  if (invisible > 0) {
    findings.push({ code: "invisible-characters", detail: `${invisible} invisible characters removed` })
  }
  if (first.tagText.trim() !== "") {
    findings.push({
      code: "invisible-characters",
      detail: `tag characters spell: "${snippet(first.tagText)}"`,
    })
  }
  for (const content of markup.hidden) {
    findings.push({ code: hiddenCode(content.kind), detail: `${content.reason}: "${snippet(content.text)}"` })
  }
  if (markup.tags > 0) findings.push({ code: "markup", detail: `${markup.tags} tags stripped` })
  for (const token of [...early.neutralised, ...late.neutralised]) {
    findings.push({ code: "prompt-delimiter", detail: `neutralised ${token}` })
  }
  // What a reader would not see is searched too: a hidden instruction is still an attempt.
  const hiddenTexts = [
    ...markup.hidden.map((content) => ({ where: content.reason, text: content.text })),
    ...(first.tagText === "" ? [] : [{ where: "tag characters", text: first.tagText }]),
  ]
  for (const hidden of hiddenTexts) {
    const visible = normaliseWhitespace(
      removeInvisible(decodeEntities(visibleTextOf(hidden.text).text)).text.normalize("NFKC"),
    )
    for (const finding of steeringIn(visible, 0)) {
      findings.push({ code: finding.code, detail: `hidden in ${hidden.where}: ${finding.detail}` })
    }
  }
  findings.push(...steeringIn(text, 0))
  // Frozen: the result is shared by every caller that cleans the same text.
  return Object.freeze({ text, findings: Object.freeze(dedupe(findings).map((f) => Object.freeze(f))) })
}

/** Whether findings show an attempt to steer the agent (override, fake notice, role claim, prompt extraction, encoded payload carrying one). */
export const isManipulation = (findings: ReadonlyArray<UntrustedFinding>): boolean =>
  findings.some((finding) => manipulationCodes.has(finding.code))
