// Chooses the triage model's escalation options by cross-validation on the training corpus alone: for each
// candidate, the out-of-fold escalation precision and recall of the whole decision (reason heads, the "needs a
// human" fallback, context rules) at the thresholds that candidate's training would fit. The holdout is never
// read. Slow (one cross-validation per L2 value); run: `node scripts/tuneTriage.ts`.
import { featurize } from "@mesh/models"
import { triageInputOf } from "../src/evals/labelledTickets.ts"
import { readTriageCorpus } from "../src/skills/offline/learned/triageArtefact.ts"
import {
  classifiedText,
  crossValidatedScores,
  decideTriage,
  defaultTriageTraining,
  thresholdsFromScores,
} from "../src/skills/offline/learned/triageModel.ts"

const corpus = readTriageCorpus()
const examples = corpus.rows.map((row) => ({
  row,
  features: featurize(classifiedText(triageInputOf(row)).text, defaultTriageTraining.featureSpec),
}))
const l2s = [1e-5, 1e-4, 1e-3, 3e-3, 1e-2]
const precisions = [0.7, 0.8, 0.9]
for (const l2 of l2s) {
  const base = { ...defaultTriageTraining, escalationTrain: { ...defaultTriageTraining.escalationTrain, l2 } }
  const oof = crossValidatedScores(examples, base)
  for (const reasonPrecision of precisions) {
    const options = { ...base, reasonPrecision }
    const thresholds = thresholdsFromScores(oof, options)
    let flagged = 0
    let right = 0
    let positives = 0
    for (const o of oof) {
      const out = decideTriage({ thresholds }, triageInputOf(o.row), o.scores)
      const human = out.escalate || out.abstention !== null
      if (o.row.mustEscalate) positives++
      if (human) flagged++
      if (human && o.row.mustEscalate) right++
    }
    process.stdout.write(
      `l2 ${l2} reasonPrecision ${reasonPrecision} targetRecall ${options.targetRecall}: out-of-fold precision ${(right / flagged).toFixed(3)}, recall ${(right / positives).toFixed(3)} (floor ${thresholds.anyReasonFloor}, anyReason ${thresholds.anyReason.toFixed(3)})\n`,
    )
  }
}
