import { Config, Effect, Option, Schema } from "effect"
import { describeCause, meshError } from "../errors.ts"

// The commands that talk to an agent (`mesh tickets`, `mesh stock`, `mesh purchase-orders`) speak
// its HTTP API with plain fetch and decode every answer here, at the edge: the CLI imports nothing
// of the agent, so an answer of another shape is named as such instead of printing undefined.

// The APIs answer from read models in milliseconds; a host that holds the connection open without
// answering should not hold a script for the 300 s of Node's default.
const TIMEOUT_MS = 10_000

/** An agent's HTTP API as `mesh` finds it: the agent's name and the variable naming its base URL. */
export interface AgentApi {
  readonly agent: string
  readonly urlVariable: string
}

/** What an agent answers a request it refuses (400, 401, 404, 409, 413) or cannot serve (503). */
export const Problem = Schema.Struct({ error: Schema.String, field: Schema.optionalKey(Schema.String) })
/** What an agent answers a request it refuses or cannot serve. */
export type Problem = typeof Problem.Type

/** One exchange's outcome: who answered which route, with what status and body. */
export interface AgentAnswer {
  readonly agent: string
  readonly url: string
  readonly route: string
  readonly status: number
  readonly text: string
}

/** A person's approver token (MESH_APPROVER_TOKEN): agents serve their views only to the shop's people. */
export const approverToken = (): string | undefined => process.env.MESH_APPROVER_TOKEN

// fetch rejects with "fetch failed" and the socket's error as its cause (an AggregateError without
// a message when both of localhost's addresses refuse): the socket's code is the useful part.
const whyUnreachable = (error: unknown): string => {
  if (error instanceof DOMException && error.name === "TimeoutError")
    return `no answer within ${TIMEOUT_MS / 1000} s`
  const socket =
    typeof error === "object" && error !== null ? (error as { cause?: unknown }).cause : undefined
  const code = typeof socket === "object" && socket !== null ? (socket as { code?: unknown }).code : undefined
  return typeof code === "string" ? `${describeCause(error)} (${code})` : describeCause(socket ?? error)
}

const unreachable = (agent: string, url: string, why: string, cause: unknown) =>
  meshError({ _tag: "AgentUnreachable", agent, url, cause: new Error(why, { cause }) })

/**
 * The agent's base URL: the flag, else the API's variable (empty counts as unset). Without
 * either, or with one that is not http(s), nothing is attempted (a usage error).
 */
const agentUrl = (api: AgentApi, flag: Option.Option<string>) =>
  Effect.gen(function* () {
    const env = Option.filter(
      yield* Config.option(Config.String(api.urlVariable)),
      (value) => value.trim() !== "",
    )
    const given = Option.orElse(flag, () => env)
    if (Option.isNone(given))
      return yield* meshError({
        _tag: "BadInput",
        message: `no ${api.agent} agent to talk to: pass --url <base> or set ${api.urlVariable}`,
      })
    const text = given.value.trim()
    const parsed = URL.canParse(text) ? new URL(text) : undefined
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:"))
      return yield* meshError({
        _tag: "BadInput",
        message: `${Option.isSome(flag) ? "--url" : api.urlVariable} ${text} is not an http(s) URL`,
      })
    return text.replace(/\/+$/, "")
  })

/**
 * The agent at the flag's URL (else the API's variable's), and one exchange with it: what it
 * answered, or why nothing came back (exit 4). `hint` is added to the latter.
 */
export const agentClient = (api: AgentApi, flag: Option.Option<string>) =>
  Effect.map(agentUrl(api, flag), (url) => ({
    url,
    exchange: (
      method: "GET" | "POST" | "PUT",
      path: string,
      options: { readonly body?: unknown; readonly hint?: string; readonly token?: string | undefined } = {},
    ) =>
      Effect.tryPromise({
        try: async (): Promise<AgentAnswer> => {
          const response = await fetch(`${url}${path}`, {
            method,
            headers: {
              accept: "application/json",
              "content-type": "application/json",
              ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
            },
            ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
            signal: AbortSignal.timeout(TIMEOUT_MS),
          })
          const text = await response.text()
          return { agent: api.agent, url, route: `${method} ${path}`, status: response.status, text }
        },
        catch: (cause) => unreachable(api.agent, url, `${whyUnreachable(cause)}${options.hint ?? ""}`, cause),
      }),
  }))

/** The answer's body decoded with `schema`, or a failure naming the route and what is wrong. */
const decodeBody = <S extends Schema.Decoder<unknown>>(answer: AgentAnswer, schema: S) =>
  Effect.try({
    try: () => JSON.parse(answer.text) as unknown,
    catch: (cause) =>
      meshError({
        _tag: "Failed",
        message: `${answer.agent} at ${answer.url} answered ${answer.route} (HTTP ${answer.status}) with a body that is not JSON`,
        cause,
      }),
  }).pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(schema)),
    Effect.mapError((cause) =>
      cause._tag === "MeshCliError"
        ? cause
        : meshError({
            _tag: "Failed",
            message: `${answer.agent} at ${answer.url} answered ${answer.route} (HTTP ${answer.status}) with an unexpected body`,
            cause,
          }),
    ),
  )

/**
 * The answer's body when its status is one of `expected`. Otherwise: a 503 is the agent's
 * infrastructure down (exit 4); a refusal with the agent's problem body fails with `refused`'s
 * line for it (exit 1); anything else names the route and status.
 */
export const expectStatus = <S extends Schema.Decoder<unknown>>(
  answer: AgentAnswer,
  expected: number | ReadonlyArray<number>,
  schema: S,
  refused: (problem: Problem, status: number) => string,
) => {
  if (typeof expected === "number" ? answer.status === expected : expected.includes(answer.status))
    return decodeBody(answer, schema)
  const problem = Schema.decodeUnknownOption(Schema.fromJsonString(Problem))(answer.text)
  if (answer.status === 503)
    return Effect.fail(
      unreachable(
        answer.agent,
        answer.url,
        `it cannot serve ${answer.route} now (HTTP 503)${Option.match(problem, { onNone: () => "", onSome: (p) => `: ${p.error}` })}`,
        answer.text,
      ),
    )
  return Effect.fail(
    Option.match(problem, {
      onSome: (p) => meshError({ _tag: "Failed", message: refused(p, answer.status) }),
      onNone: () =>
        meshError({
          _tag: "Failed",
          message: `${answer.agent} at ${answer.url} answered ${answer.route} with HTTP ${answer.status}${answer.text.trim() === "" ? "" : `: ${answer.text.trim().slice(0, 200)}`}`,
        }),
    }),
  )
}
