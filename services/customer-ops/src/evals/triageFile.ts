import { readFile } from "node:fs/promises"
import { basename } from "node:path"
import {
  EvalDatasetError,
  type EvalReport,
  type ModelProviderShape,
  reportOfRun,
  runSkillOnCases,
  type Skill,
} from "@mesh/models"
import { Effect } from "effect"
import type { TriageInput, TriageOutput } from "../skills/tasks.ts"
import {
  type LabelledFile,
  type LabelledTicket,
  parseLabelledTickets,
  type RejectedLine,
  triageInputOf,
} from "./labelledTickets.ts"
import { formatTriageReport, type TriageReport, triageMetrics, triageTally } from "./triageReport.ts"

// `mesh eval triageTicket --file`: a support lead's labelled JSON-lines file, scored with the full triage report.

const errorCode = (cause: unknown): unknown =>
  typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined

const readProblem = (cause: unknown): string => {
  switch (errorCode(cause)) {
    case "ENOENT":
      return "no such file"
    case "EISDIR":
      return "is a directory, not a file"
    case "EACCES":
      return "not allowed to read it"
    default:
      return `cannot read it (${cause instanceof Error ? cause.message : String(cause)})`
  }
}

/**
 * Reads and parses a labelled file. Lines that do not parse are returned to report, never fatal; the file
 * failing to read, or holding no valid row, is an EvalDatasetError naming the file.
 */
export const readLabelledFile = (path: string): Effect.Effect<LabelledFile, EvalDatasetError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new EvalDatasetError({ file: path, message: readProblem(cause) }),
  }).pipe(
    Effect.flatMap((text) => {
      const parsed = parseLabelledTickets(text)
      if (parsed.rows.length > 0) return Effect.succeed(parsed)
      const why =
        parsed.rejected.length === 0
          ? "it is empty"
          : `${parsed.rejected.length} ${parsed.rejected.length === 1 ? "line" : "lines"} rejected, the first: line ${parsed.rejected[0]!.line} ${parsed.rejected[0]!.message}`
      return Effect.fail(new EvalDatasetError({ file: path, message: `has no valid labelled row (${why})` }))
    }),
  )

/** What `--file` reports: the run (latency, cost, headline metrics), the triage report and the lines skipped. */
export interface TriageFileResult {
  readonly file: string
  readonly evaluation: EvalReport
  readonly report: TriageReport
  readonly rejected: ReadonlyArray<RejectedLine>
}

/** Runs triage on each row in turn and folds each answer into the report as it comes, holding no answers. */
export const evaluateTriageFile = (
  skill: Skill<TriageInput, TriageOutput>,
  path: string,
  labelled: LabelledFile,
  provider: ModelProviderShape,
) => {
  const tally = triageTally()
  return runSkillOnCases(skill, labelled.rows, triageInputOf, provider, (row: LabelledTicket, output) =>
    tally.add(row, output),
  ).pipe(
    Effect.map((run): TriageFileResult => {
      const report = tally.report()
      return {
        file: path,
        evaluation: reportOfRun(skill, basename(path), provider, run, triageMetrics(report)),
        report,
        rejected: labelled.rejected,
      }
    }),
  )
}

// Skipped lines shown in the text output; --json lists them all.
const SHOWN_REJECTIONS = 20

/** The result as text: the run's header, the lines skipped by number, then the triage report. */
export const formatTriageFileResult = (result: TriageFileResult): string => {
  const e = result.evaluation
  const header =
    `${e.skill}@${e.skillVersion} (prompt ${e.promptVersion}) on ${result.file}: ${e.cases} rows, ` +
    `${e.provider} ${e.model}; latency p50 ${e.latencyP50Ms} ms, p95 ${e.latencyP95Ms} ms; ` +
    `cost $${e.totalCostUsd}; ${e.fellBack} fell back, ${e.needsHuman} to a human`
  const { rejected } = result
  const skipped =
    rejected.length === 0
      ? []
      : [
          [
            `skipped ${rejected.length} ${rejected.length === 1 ? "line" : "lines"} that are not labelled messages:`,
            ...rejected.slice(0, SHOWN_REJECTIONS).map((r) => `  line ${r.line}: ${r.message}`),
            ...(rejected.length > SHOWN_REJECTIONS
              ? [`  … and ${rejected.length - SHOWN_REJECTIONS} more (--json lists them all)`]
              : []),
          ].join("\n"),
        ]
  return [header, ...skipped, formatTriageReport(result.report)].join("\n\n")
}
