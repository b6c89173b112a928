import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Result } from "effect"
import { ModelError } from "../modelError.ts"
import { hashEmbed } from "../offline/embedder.ts"
import { parseJson } from "../tasks.ts"
import { sampleTaskAnswers } from "./sampleSkill.ts"

/** One scripted answer: a JSON body (or a raw, possibly malformed, body), a status, and a delay before answering. */
export interface FakeReply {
  readonly status?: number
  readonly json?: unknown
  readonly raw?: string
  readonly delayMs?: number
}

/** A request the fake received. */
export interface FakeRequest {
  readonly method: string
  readonly path: string
  readonly body: unknown
}

/** Computes the answer to a request when no scripted reply is queued. */
export type FakeResponder = (request: FakeRequest) => FakeReply

/** Counters the fake keeps. */
export interface FakeOllamaStats {
  readonly requests: number
  readonly chatRequests: number
  readonly embedRequests: number
  readonly inFlight: number
  readonly maxInFlight: number
  /** Requests whose client went away before the answer was sent (an aborted call). */
  readonly abandoned: number
}

/** A local HTTP server speaking Ollama's non-streaming JSON API, for tests. */
export interface FakeOllama {
  /** Base URL, e.g. http://127.0.0.1:40123, to use as MESH_OLLAMA_HOST. */
  readonly url: string
  /** Queues replies for an endpoint, served in order before falling back to the responder. */
  readonly enqueue: (endpoint: "chat" | "embed", ...replies: ReadonlyArray<FakeReply>) => void
  /** Every request received, in order. */
  readonly requests: () => ReadonlyArray<FakeRequest>
  /** The counters so far. */
  readonly stats: () => FakeOllamaStats
  /** Clears queues, requests and counters. */
  readonly reset: () => void
  /** Stops the server, dropping open connections. */
  readonly close: () => Promise<void>
}

/**
 * How the fake answers a mesh task recognised in a prompt, by task name: a function of the task's input and
 * variant, typically the offline answer of the skill whose prompt carries that marker.
 */
export type TaskAnswers = Readonly<
  Record<string, (input: unknown, variant: number) => Result.Result<unknown, ModelError>>
>

/** Options of the fake: how to answer when nothing is queued, and which models it says it has. */
export interface FakeOllamaOptions {
  /** Answers chat requests; by default {@link chatResponder} with `answers`. */
  readonly chat?: FakeResponder
  readonly embed?: FakeResponder
  readonly models?: ReadonlyArray<string>
  /** The answers to the caller's own tasks, beside those of this package's skills (see {@link chatResponder}). */
  readonly answers?: TaskAnswers
}

const modelOf = (body: unknown): string =>
  typeof body === "object" && body !== null && typeof (body as { model?: unknown }).model === "string"
    ? (body as { model: string }).model
    : "unknown"

/** Builders of typical replies. */
export const fakeReplies = {
  /** A chat answer with the given content and token counts. */
  chat: (
    content: string,
    options: { model?: string; promptTokens?: number; completionTokens?: number } = {},
  ) =>
    ({
      json: {
        model: options.model ?? "fake-model",
        created_at: "2025-01-01T00:00:00.000Z",
        message: { role: "assistant", content },
        done: true,
        done_reason: "stop",
        total_duration: 1_000_000,
        load_duration: 0,
        prompt_eval_count: options.promptTokens ?? 42,
        prompt_eval_duration: 500_000,
        eval_count: options.completionTokens ?? 17,
        eval_duration: 500_000,
      },
    }) satisfies FakeReply,
  /** An embed answer with the given vectors. */
  embeddings: (embeddings: ReadonlyArray<ReadonlyArray<number>>, model = "fake-embed") =>
    ({
      json: { model, embeddings, total_duration: 1_000_000, load_duration: 0, prompt_eval_count: 8 },
    }) satisfies FakeReply,
  /** An error answer, as Ollama sends them: a status and {"error": message}. */
  error: (status: number, message: string): FakeReply => ({ status, json: { error: message } }),
  /** A 200 whose body is not JSON at all. */
  malformedBody: (): FakeReply => ({ raw: '{"model":"fake-model","message":{"content":' }),
  /** The same reply, sent only after `delayMs`. */
  delayed: (delayMs: number, reply: FakeReply): FakeReply => ({ ...reply, delayMs }),
}

// The fake plays a real model, so it reads the prompt as one would: the task marker of the system prompt and the
// input between <input> tags. Production code never does (the offline model runs a skill's declared implementation).
const TASK_MARKER = /^mesh-task:\s*([a-z_]+)(?:\s+v(\d+))?\s*$/m
const INPUT_BLOCK = /<input>\s*([\s\S]*?)\s*<\/input>/

/** A task recognised in a prompt. */
export interface RecognisedTask {
  readonly task: string
  readonly variant: number
  readonly input: unknown
}

/** Finds the task marker and the input block in a prompt; null when the prompt is not a mesh task. */
export const recogniseTask = (system: string, user: string): RecognisedTask | null => {
  const marker = TASK_MARKER.exec(system)
  const block = INPUT_BLOCK.exec(user)
  if (marker === null || block === null) return null
  const parsed = parseJson(block[1] ?? "")
  if (parsed === undefined) return null
  return { task: marker[1] ?? "", variant: Number(marker[2] ?? "1"), input: parsed }
}

// The tasks of this package's own skill, the sample skill of its tests. A service's tests give the fake their
// skills' answers (`answers`), so that nothing here depends on any agent's skills.
const packageAnswers: TaskAnswers = sampleTaskAnswers

const unknownTask = (task: RecognisedTask) =>
  Result.fail(
    new ModelError({
      reason: "Unsupported",
      provider: "ollama",
      model: "fake-model",
      message: `the fake model has no skill for task "${task.task}"`,
    }),
  )

/**
 * Answers like a well-behaved model: a mesh task gets its answer from `answers` (or, for this package's own
 * skills, their offline implementations), a task nobody answers a 400, anything else a short text.
 */
export const chatResponder =
  (answers: TaskAnswers = {}): FakeResponder =>
  (request) => {
    const body = request.body as { messages?: ReadonlyArray<{ role?: string; content?: string }> }
    const messages = body.messages ?? []
    const system = messages
      .filter((m) => m.role === "system")
      .map((m) => m.content ?? "")
      .join("\n")
    const user = messages.findLast((m) => m.role === "user")?.content ?? ""
    const task = recogniseTask(system, user)
    if (task === null)
      return fakeReplies.chat("Hello from the fake Ollama.", { model: modelOf(request.body) })
    const answerOf = answers[task.task] ?? packageAnswers[task.task]
    const answer = answerOf === undefined ? unknownTask(task) : answerOf(task.input, task.variant)
    return Result.isSuccess(answer)
      ? fakeReplies.chat(JSON.stringify(answer.success), { model: modelOf(request.body) })
      : fakeReplies.error(400, answer.failure.message)
  }

/** {@link chatResponder} for this package's own skills only. */
export const defaultChatResponder: FakeResponder = chatResponder()

/** Embeds with the offline hashing embedder, so vectors are deterministic. */
export const defaultEmbedResponder: FakeResponder = (request) => {
  const input = (request.body as { input?: unknown }).input
  const texts = Array.isArray(input) ? input.map(String) : [String(input ?? "")]
  return fakeReplies.embeddings(
    texts.map((text) => hashEmbed(text)),
    modelOf(request.body),
  )
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

/** Starts the fake on 127.0.0.1 on a free port. */
export const startFakeOllama = async (options: FakeOllamaOptions = {}): Promise<FakeOllama> => {
  const queues: Record<"chat" | "embed", Array<FakeReply>> = { chat: [], embed: [] }
  let received: Array<FakeRequest> = []
  let counters = { requests: 0, chatRequests: 0, embedRequests: 0, inFlight: 0, maxInFlight: 0, abandoned: 0 }
  const models = options.models ?? ["llama3.2:3b", "all-minilm"]
  const chat = options.chat ?? chatResponder(options.answers)

  const send = (res: ServerResponse, reply: FakeReply) => {
    const status = reply.status ?? 200
    if (reply.raw !== undefined) {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(reply.raw)
    } else {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(reply.json ?? {}))
    }
  }

  const answer = (path: string, request: FakeRequest): FakeReply => {
    switch (path) {
      case "/api/chat":
        counters.chatRequests++
        return queues.chat.shift() ?? chat(request)
      case "/api/embed":
        counters.embedRequests++
        return queues.embed.shift() ?? (options.embed ?? defaultEmbedResponder)(request)
      case "/api/tags":
        return {
          json: {
            models: models.map((name) => ({
              name,
              model: name,
              modified_at: "2025-01-01T00:00:00.000Z",
              size: 1,
              digest: "0".repeat(64),
              details: {
                parent_model: "",
                format: "gguf",
                family: "fake",
                families: ["fake"],
                parameter_size: "1B",
                quantization_level: "Q4_0",
              },
            })),
          },
        }
      case "/api/version":
        return { json: { version: "0.0.0-fake" } }
      default:
        return fakeReplies.error(404, `no route ${path}`)
    }
  }

  const server = createServer((req, res) => {
    counters.requests++
    counters.inFlight++
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight)
    let timer: ReturnType<typeof setTimeout> | undefined
    res.on("close", () => {
      counters.inFlight--
      if (!res.writableFinished) {
        counters.abandoned++
        if (timer !== undefined) clearTimeout(timer)
      }
    })
    void readBody(req).then((text) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/"
      const body = text.length > 0 ? (parseJson(text) ?? text) : null
      const request: FakeRequest = { method: req.method ?? "GET", path, body }
      received.push(request)
      const reply = answer(path, request)
      if (reply.delayMs !== undefined && reply.delayMs > 0) {
        timer = setTimeout(() => {
          if (!res.destroyed) send(res, reply)
        }, reply.delayMs)
      } else {
        send(res, reply)
      }
    })
  })

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    enqueue: (endpoint, ...replies) => {
      queues[endpoint].push(...replies)
    },
    requests: () => [...received],
    stats: () => ({ ...counters }),
    reset: () => {
      queues.chat = []
      queues.embed = []
      received = []
      counters = {
        ...counters,
        requests: 0,
        chatRequests: 0,
        embedRequests: 0,
        maxInFlight: counters.inFlight,
        abandoned: 0,
      }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error === undefined ? resolve() : reject(error)))
      }),
  }
}
