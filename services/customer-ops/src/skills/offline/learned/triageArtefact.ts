import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type LabelledTicket, parseLabelledTickets } from "../../../evals/labelledTickets.ts"
import {
  defaultTriageTraining,
  loadTriageModel,
  type TriageArtefact,
  type TriageModel,
  type TriageTrainingOptions,
  trainTriageModel,
} from "./triageModel.ts"

// Where the triage corpus and the trained artefact live, and how the artefact is built and loaded. The artefact
// is committed: the offline model works on a fresh clone without a build step, and a test rebuilds it from the
// corpus and fails when the two differ, so the committed model is always the one the corpus makes.

/** The training corpus: every `.jsonl` file in this folder, in name order. */
export const triageTrainingDirectory = fileURLToPath(
  new URL("../../../../corpus/triage/train/", import.meta.url),
)
/** The committed artefact. */
export const triageArtefactFile = fileURLToPath(
  new URL("../../../../artefacts/triage-model.json", import.meta.url),
)

/** Bumped whenever featurisation or training changes in a way the corpus digest cannot see. */
export const TRIAGE_TRAINING_GENERATION = 2

/** The labelled training messages, with the digest of exactly what was read. */
export const readTriageCorpus = (
  directory: string = triageTrainingDirectory,
): {
  readonly rows: ReadonlyArray<LabelledTicket>
  readonly digest: string
  readonly problems: ReadonlyArray<string>
} => {
  const hash = createHash("sha256")
  hash.update(`generation ${TRIAGE_TRAINING_GENERATION}\n`)
  const rows: Array<LabelledTicket> = []
  const problems: Array<string> = []
  const files = readdirSync(directory)
    .filter((name) => name.endsWith(".jsonl"))
    .sort()
  for (const name of files) {
    // Line endings are normalised so that a checkout with CRLF trains, and names, the same model.
    const text = readFileSync(join(directory, name), "utf8").replace(/\r\n/g, "\n")
    hash.update(`${name}\n${text}\n`)
    const parsed = parseLabelledTickets(text)
    for (const r of parsed.rejected) problems.push(`${name}:${r.line} ${r.message}`)
    rows.push(...parsed.rows)
  }
  return { rows, digest: hash.digest("hex"), problems }
}

/** Trains the artefact from the corpus on disk. Deterministic: the same corpus gives the same artefact. */
export const buildTriageArtefact = (
  options: TriageTrainingOptions = defaultTriageTraining,
  directory: string = triageTrainingDirectory,
): TriageArtefact => {
  const corpus = readTriageCorpus(directory)
  if (corpus.problems.length > 0) {
    throw new Error(`the triage corpus has rows that do not parse:\n${corpus.problems.join("\n")}`)
  }
  const optionsDigest = createHash("sha256").update(JSON.stringify(options)).digest("hex")
  const digest = createHash("sha256").update(corpus.digest).update(optionsDigest).digest("hex")
  return trainTriageModel(corpus.rows, digest, options)
}

/** The artefact as text, exactly as it is committed. */
export const serialiseTriageArtefact = (artefact: TriageArtefact): string => `${JSON.stringify(artefact)}\n`

let loaded: TriageModel | undefined

/**
 * The committed triage model, loaded once per process. A missing or unreadable artefact is a broken checkout,
 * not a state to run in: it throws with the command that rebuilds it.
 */
export const committedTriageModel = (): TriageModel => {
  if (loaded !== undefined) return loaded
  let artefact: TriageArtefact
  try {
    artefact = JSON.parse(readFileSync(triageArtefactFile, "utf8")) as TriageArtefact
  } catch (cause) {
    throw new Error(
      `the offline triage model ${triageArtefactFile} cannot be read; rebuild it with \`pnpm --filter @mesh/customer-ops train\``,
      { cause },
    )
  }
  if (artefact.format !== "mesh-triage-model") {
    throw new Error(`${triageArtefactFile} is not a mesh triage model (format ${String(artefact.format)})`)
  }
  loaded = loadTriageModel(artefact)
  return loaded
}
