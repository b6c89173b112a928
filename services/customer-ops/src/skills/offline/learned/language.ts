import { franc, francAll } from "franc-min"

// The offline triage model learned English, French, German and Spanish. On a message plainly written in another
// language its n-grams mean nothing it was taught, so a confident label there would be a guess: the model
// abstains instead, and says which language it saw. franc ranks languages by character trigrams; it is only
// asked about messages long enough for that to be reliable (short ones go to the model as they are), and only
// about their opening, so a long message costs no more than a short one.

/** The languages the offline triage model was trained on (ISO 639-3, as franc names them). */
export const TRAINED_LANGUAGES: ReadonlySet<string> = new Set(["eng", "fra", "deu", "spa"])

/** Shorter texts are not judged: franc is unreliable on a line or two. */
export const MIN_LANGUAGE_SAMPLE = 60
const SAMPLE = 200
// The Latin-script languages a customer of a European shop plausibly writes in. Ranking only these halves
// franc's cost (0.13 ms a message here, against 0.24 ms over all of franc-min's 82); other scripts are told apart
// by their letters before franc is asked.
const LATIN_CANDIDATES = [
  ...TRAINED_LANGUAGES,
  ...[
    "ita",
    "por",
    "nld",
    "pol",
    "ron",
    "hun",
    "ces",
    "slk",
    "swe",
    "dan",
    "nob",
    "fin",
    "est",
    "lav",
    "lit",
  ],
  ...["slv", "hrv", "cat", "tur", "ind", "vie"],
]
// How close (franc's relative score, 1 for the best) a trained language must come to the best one to count. On
// the training corpus, no message of 60 characters or more falls below it; Italian reads as Spanish at about
// 0.80 and Portuguese at 0.89, so both are caught.
const NEAR_ENOUGH = 0.9

/** The language a message is plainly written in when the model was not trained on it; null otherwise. */
export const untrainedLanguageOf = (text: string): string | null => {
  const sample = text.slice(0, SAMPLE)
  if (sample.trim().length < MIN_LANGUAGE_SAMPLE) return null
  const letters = sample.match(/\p{L}/gu)?.length ?? 0
  const latin = sample.match(/\p{Script=Latin}/gu)?.length ?? 0
  if (letters >= MIN_LANGUAGE_SAMPLE / 2 && latin < letters / 2) {
    // Mostly another script (Cyrillic, Greek, Arabic, Han...): none of the trained languages, whatever franc says.
    const code = franc(sample, { minLength: 10 })
    return code === "und" ? "a non-Latin script" : code
  }
  const ranked = francAll(sample, { minLength: MIN_LANGUAGE_SAMPLE, only: LATIN_CANDIDATES })
  const top = ranked[0]?.[0] ?? "und"
  if (top === "und" || TRAINED_LANGUAGES.has(top)) return null
  const nearest = ranked.find(([code]) => TRAINED_LANGUAGES.has(code))
  return nearest !== undefined && nearest[1] >= NEAR_ENOUGH ? null : top
}
