import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Sha256Hex, SubjectToken } from "@mesh/contracts"
import { Config, ConfigProvider, Context, Effect, Layer, Redacted, Result, Schema } from "effect"
import { HttpRouter, HttpServer, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { QueuedAction } from "../readModel/actionsProjection.ts"
import type { ApprovalDecisions, ApprovalError, ApprovalOutcome } from "./approvals.ts"

/** The body of an approval: the hash of the parameters the approver was shown. */
export const ApproveBody = Schema.Struct({ parametersHash: Sha256Hex })
/** The body of a rejection: why. */
export const RejectBody = Schema.Struct({ reason: Schema.String.check(Schema.isMinLength(1)) })
const ActionPath = Schema.Struct({ agent: SubjectToken, actionId: SubjectToken })

/** Who may decide: bearer tokens and the identity each one stands for. */
export type ApproverTokens = ReadonlyMap<string, string>

/**
 * Parses `MESH_APPROVER_TOKENS`, `identity=token` pairs separated by commas. A malformed entry stops
 * start-up with a message naming it (without the token).
 */
export const parseApproverTokens = (value: string): Result.Result<ApproverTokens, string> => {
  const tokens = new Map<string, string>()
  for (const [index, entry] of value.split(",").entries()) {
    const trimmed = entry.trim()
    if (trimmed === "") continue
    const at = trimmed.indexOf("=")
    const identity = trimmed.slice(0, at).trim()
    const token = trimmed.slice(at + 1).trim()
    if (at <= 0 || identity === "" || token.length < 16) {
      return Result.fail(
        `MESH_APPROVER_TOKENS entry ${index + 1} must be identity=token with a token of at least 16 characters`,
      )
    }
    tokens.set(token, identity)
  }
  return Result.succeed(tokens)
}

/** The approver tokens from `MESH_APPROVER_TOKENS` (a secret: kept redacted until parsed). */
export const approverTokensConfig: Config.Config<ApproverTokens> = Config.Redacted(
  "MESH_APPROVER_TOKENS",
).pipe(
  Config.flatMap((secret) => {
    const parsed = parseApproverTokens(Redacted.value(secret))
    return Result.isSuccess(parsed)
      ? Config.succeed(parsed.success)
      : Config.fail(new ConfigProvider.SourceError({ message: parsed.failure }))
  }),
)

/** What the approvals API needs: the decisions, the queue, and who may decide. */
export interface ApprovalsHttpOptions {
  readonly approvals: ApprovalDecisions
  readonly queue: (agent: string | undefined) => Promise<ReadonlyArray<QueuedAction>>
  readonly approvers: ApproverTokens
}

const problem = (status: number, error: string, detail?: Record<string, unknown>) =>
  HttpServerResponse.jsonUnsafe({ error, ...detail }, { status })

const approverOf = (request: HttpServerRequest.HttpServerRequest, approvers: ApproverTokens) => {
  const header = request.headers.authorization ?? ""
  const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : ""
  return approvers.get(token)
}

const respond = (outcome: ApprovalOutcome) =>
  outcome._tag === "Refused"
    ? problem(409, `refused: ${outcome.refusal}`, { outcome })
    : HttpServerResponse.jsonUnsafe({ outcome })

const failure = (error: ApprovalError) => {
  switch (error.reason._tag) {
    case "UnknownAction":
      return problem(404, error.message)
    case "InvalidDecision":
      return problem(400, error.message)
    case "ApprovalUnavailable":
      return problem(503, error.message)
  }
}

/**
 * The approvals API: `GET /approvals[?agent=]` lists the queue; `POST /approvals/:agent/:actionId/approve`
 * with `{ parametersHash }` and `POST .../reject` with `{ reason }` decide, as the identity of the
 * bearer token. Bad input is a 400 naming the field; a refused decision is a 409 naming why.
 */
export const approvalsRoutes = (options: ApprovalsHttpOptions) => {
  const decide = (
    request: HttpServerRequest.HttpServerRequest,
    run: (
      path: typeof ActionPath.Type,
      approver: string,
      body: unknown,
    ) => Effect.Effect<HttpServerResponse.HttpServerResponse, ApprovalError>,
  ) =>
    Effect.gen(function* () {
      const approver = approverOf(request, options.approvers)
      if (approver === undefined) return problem(401, "a bearer token of a known approver is required")
      const path = yield* Effect.result(HttpRouter.schemaPathParams(ActionPath))
      if (Result.isFailure(path)) return problem(400, `bad path: ${path.failure.message}`)
      const body = yield* Effect.result(request.json)
      if (Result.isFailure(body)) return problem(400, "the body must be JSON")
      return yield* run(path.success, approver, body.success).pipe(
        Effect.catch((error) => Effect.succeed(failure(error))),
      )
    })

  return Layer.mergeAll(
    HttpRouter.add("GET", "/approvals", (request) =>
      Effect.gen(function* () {
        // The queue shows parameters (addresses, amounts): only approvers may read it.
        if (approverOf(request, options.approvers) === undefined) {
          return problem(401, "a bearer token of a known approver is required")
        }
        const agent = new URL(request.url, "http://localhost").searchParams.get("agent") ?? undefined
        if (agent !== undefined && Result.isFailure(Schema.decodeUnknownResult(SubjectToken)(agent))) {
          return problem(400, "agent must be an agent name")
        }
        const queue = yield* Effect.result(Effect.tryPromise(() => options.queue(agent)))
        return Result.isSuccess(queue)
          ? HttpServerResponse.jsonUnsafe({ queue: queue.success })
          : problem(503, `the approvals queue is unavailable: ${queue.failure.message}`)
      }),
    ),
    HttpRouter.add("POST", "/approvals/:agent/:actionId/approve", (request) =>
      decide(request, (path, approver, body) => {
        const decoded = Schema.decodeUnknownResult(ApproveBody)(body)
        if (Result.isFailure(decoded))
          return Effect.succeed(problem(400, `bad body: ${decoded.failure.message}`))
        return options.approvals
          .approve({ ...path, approver, parametersHash: decoded.success.parametersHash })
          .pipe(Effect.map(respond))
      }),
    ),
    HttpRouter.add("POST", "/approvals/:agent/:actionId/reject", (request) =>
      decide(request, (path, approver, body) => {
        const decoded = Schema.decodeUnknownResult(RejectBody)(body)
        if (Result.isFailure(decoded))
          return Effect.succeed(problem(400, `bad body: ${decoded.failure.message}`))
        return options.approvals
          .reject({ ...path, approver, reason: decoded.success.reason })
          .pipe(Effect.map(respond))
      }),
    ),
  )
}

/** Serves the approvals API in the current scope; answers its base URL. */
export const serveApprovalsHttp = (
  options: ApprovalsHttpOptions & { readonly port: number; readonly host: string },
) =>
  Effect.gen(function* () {
    const server = yield* Layer.build(
      HttpRouter.serve(approvalsRoutes(options), { disableLogger: true }).pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(() => createServer(), { port: options.port, host: options.host }),
        ),
      ),
    )
    const address = HttpServer.formatAddress(Context.get(server, HttpServer.HttpServer).address)
    return address.replace("0.0.0.0", "127.0.0.1").replace("[::]", "127.0.0.1")
  })
