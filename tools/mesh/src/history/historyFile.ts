import { Domain, Namespace } from "@mesh/contracts"
import { Result, Schema } from "effect"

// A history file: a slice of a namespace's log cut out by `mesh export`, for `mesh import` to play
// into another namespace on another machine (a bug report, the corpus the compatibility check reads).
// JSON lines, so that a long day streams in and out and a damaged line is named by its number:
// a header, then each stored commit as the log holds it (its events exactly as written, before any
// upcast), then the decision content the commits reference by hash.

/** The file's format name and the version of its layout this build writes and reads. */
export const historyFormat = "mesh-history"
export const historyFormatVersion = 1

const Sequence = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Sha256 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/, { message: "must be 64 hex digits" }))

/** What was cut out: the whole log, or the chains and aggregates asked for (with what they name). */
export const HistorySelection = Schema.Struct({
  domains: Schema.Array(Domain),
  correlationIds: Schema.Array(Schema.String),
  aggregates: Schema.Array(Schema.String),
  /** ISO instants bounding `occurredAt`, or null. */
  since: Schema.NullOr(Schema.String),
  until: Schema.NullOr(Schema.String),
})
/** What was cut out. */
export type HistorySelection = typeof HistorySelection.Type

/** The first line. */
export const HistoryHeader = Schema.Struct({
  format: Schema.Literal(historyFormat),
  version: Schema.Literal(historyFormatVersion),
  /** The namespace the slice was cut from. */
  namespace: Namespace,
  exportedAt: Schema.String,
  selection: HistorySelection,
  /** Each exported stream's last sequence when the export began, by domain. */
  heads: Schema.Record(Schema.String, Schema.Int),
  /**
   * What became of the fields the contracts mark as personal: `redacted` (the default; `fields`
   * names those the file held, as `<event type>.<path>`), or `kept` by an operator's choice.
   */
  personalData: Schema.optionalKey(
    Schema.Struct({ treatment: Schema.Literals(["redacted", "kept"]), fields: Schema.Array(Schema.String) }),
  ),
})
/** The first line. */
export type HistoryHeader = typeof HistoryHeader.Type

/** One stored commit, as its stream held it. */
export const HistoryCommit = Schema.Struct({
  domain: Domain,
  /** Its sequence in the exported stream. */
  sequence: Sequence,
  /**
   * Its subject without the namespace: `<domain>.<aggregate type>.<aggregate id>`, or `$KV.<key>`
   * for a register change the registers stream sourced from the namespace's register bucket.
   */
  subject: Schema.String,
  /** Its deduplication id (the commit id), kept so that an import played twice stores it once. */
  msgId: Schema.NullOr(Schema.String),
  /** The commit's events as written (raw envelopes). */
  events: Schema.Array(Schema.Unknown).check(Schema.isMinLength(1)),
})
/** One stored commit. */
export type HistoryCommit = typeof HistoryCommit.Type

/** One piece of decision content recorded by reference, by its hash. */
export const HistoryObject = Schema.Struct({ sha256: Sha256, base64: Schema.String })
/** One piece of decision content. */
export type HistoryObject = typeof HistoryObject.Type

/** A line after the header. */
export const HistoryLine = Schema.Union([
  Schema.Struct({ commit: HistoryCommit }),
  Schema.Struct({ object: HistoryObject }),
])
/** A line after the header. */
export type HistoryLine = typeof HistoryLine.Type

/** A history file read whole. */
export interface HistoryFile {
  readonly header: HistoryHeader
  readonly commits: ReadonlyArray<HistoryCommit>
  readonly objects: ReadonlyMap<string, Uint8Array>
}

const decodeHeader = Schema.decodeUnknownResult(HistoryHeader)
const decodeLine = Schema.decodeUnknownResult(HistoryLine)

const parseJson = (text: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(text) as unknown)
  } catch (e) {
    return Result.fail(e instanceof Error ? e.message : String(e))
  }
}

/** The file as lines of text, the header first. */
export const historyLines = (
  header: HistoryHeader,
  commits: Iterable<HistoryCommit>,
  objects: Iterable<HistoryObject>,
): ReadonlyArray<string> => [
  JSON.stringify(header),
  ...Array.from(commits, (commit) => JSON.stringify({ commit })),
  ...Array.from(objects, (object) => JSON.stringify({ object })),
]

/**
 * Reads a history file's text, or says which line is wrong and how: a file of another format or a
 * later version of this one is refused at its header, before anything is imported.
 */
export const parseHistoryFile = (text: string): Result.Result<HistoryFile, string> => {
  const lines = text.split("\n")
  const first = lines[0] ?? ""
  const headerJson = parseJson(first)
  if (Result.isFailure(headerJson)) return Result.fail(`line 1 is not JSON: ${headerJson.failure}`)
  const raw = headerJson.success as { format?: unknown; version?: unknown }
  if (raw?.format !== historyFormat)
    return Result.fail(
      `line 1 does not start a ${historyFormat} file (format ${JSON.stringify(raw?.format)})`,
    )
  if (raw.version !== historyFormatVersion)
    return Result.fail(
      `the file is ${historyFormat} version ${JSON.stringify(raw.version)}; this build reads version ${historyFormatVersion}`,
    )
  const header = decodeHeader(raw)
  if (Result.isFailure(header)) return Result.fail(`line 1 is not a valid header: ${header.failure.message}`)
  const commits: Array<HistoryCommit> = []
  const objects = new Map<string, Uint8Array>()
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === "") continue
    const json = parseJson(line)
    if (Result.isFailure(json)) return Result.fail(`line ${i + 1} is not JSON: ${json.failure}`)
    const decoded = decodeLine(json.success)
    if (Result.isFailure(decoded))
      return Result.fail(`line ${i + 1} is neither a commit nor an object: ${decoded.failure.message}`)
    const entry = decoded.success
    if ("commit" in entry) commits.push(entry.commit)
    else objects.set(entry.object.sha256, Buffer.from(entry.object.base64, "base64"))
  }
  return Result.succeed({ header: header.success, commits, objects })
}
