// Trains the offline triage model from services/customer-ops/corpus/triage/train and writes the committed
// artefact (services/customer-ops/artefacts/triage-model.json). `--check` rebuilds it and fails if it differs from
// the committed one, without writing. Run: `pnpm --filter @mesh/customer-ops train [--check]`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import {
  buildTriageArtefact,
  serialiseTriageArtefact,
  triageArtefactFile,
} from "../src/skills/offline/learned/triageArtefact.ts"

const check = process.argv.includes("--check")
const started = performance.now()
const artefact = buildTriageArtefact()
const text = serialiseTriageArtefact(artefact)
const seconds = ((performance.now() - started) / 1000).toFixed(1)
const summary = `${artefact.version}: ${artefact.trainedOn.examples} messages, ${(text.length / 1024).toFixed(0)} KiB, trained in ${seconds} s`
if (check) {
  let committed = ""
  try {
    committed = readFileSync(triageArtefactFile, "utf8")
  } catch {}
  if (committed !== text) {
    process.stderr.write(
      `${triageArtefactFile} is not what the corpus trains (${summary}); run \`pnpm --filter @mesh/customer-ops train\`\n`,
    )
    process.exitCode = 1
  } else process.stdout.write(`up to date: ${summary}\n`)
} else {
  mkdirSync(dirname(triageArtefactFile), { recursive: true })
  writeFileSync(triageArtefactFile, text)
  process.stdout.write(
    `wrote ${triageArtefactFile}\n${summary}\nthresholds ${JSON.stringify(artefact.thresholds)}\n`,
  )
}
