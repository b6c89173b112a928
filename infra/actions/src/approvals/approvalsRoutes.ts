// Its modules by name: the package's index loads every one of them, its Redis client among them,
// which cost each agent about 0.4 s of CPU as it started.
import * as NodeHttpPlatform from "@effect/platform-node/NodeHttpPlatform"
import * as NodeServices from "@effect/platform-node/NodeServices"
import type { ActionParameters, ApprovalRefusal, EventDefinition } from "@mesh/contracts"
import type { AgentContext } from "@mesh/kernel"
import { Effect, Layer, SchemaIssue } from "effect"
import { Etag, type HttpRouter } from "effect/http"
import { HttpApiBuilder, type HttpApiError, HttpApiMiddleware } from "effect/http-api"
import type { QueuedAction } from "../readModel/actionsProjection.ts"
import { type ApprovalError, type ApprovalOutcome, Approvals } from "./approvals.ts"
import {
  ActionNotFound,
  ApprovalsApi,
  ApprovalsBadInput,
  ApprovalsUnavailable,
  ApproverAuth,
  approvalsOpenApiPath,
  BadApprovalRequest,
  CurrentApprover,
  DecisionRefused,
  UnknownApprover,
} from "./approvalsApi.ts"
import { ApproverTokens } from "./approverTokens.ts"

const ApproverAuthLive = Layer.effect(
  ApproverAuth,
  Effect.gen(function* () {
    const tokens = yield* ApproverTokens
    return ApproverAuth.of({
      bearer: (handler, { credential }) => {
        const identity = tokens.identityOf(credential)
        return identity === undefined
          ? Effect.fail(new UnknownApprover({ message: "a bearer token of a known approver is required" }))
          : Effect.provideService(handler, CurrentApprover, { identity })
      },
    })
  }),
)

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Where a value that failed decoding was, when its issue has no path of its own. */
const slotOf: Record<HttpApiError.HttpApiSchemaError["kind"], string> = {
  Params: "path",
  Headers: "headers",
  Query: "query",
  Payload: "body",
  Body: "response",
  ResponseHeaders: "response headers",
}

// HttpApi answers a request that does not decode with an empty 400; an approver (or the tool they
// use) needs to know which field to fix.
const ApprovalsBadInputLive = HttpApiMiddleware.layerSchemaErrorTransform(ApprovalsBadInput, (error) => {
  // A response that does not encode is this service's fault: the builder reports it as a 500.
  if (error.kind === "Body" || error.kind === "ResponseHeaders") return Effect.fail(error)
  const issues = formatIssues(error.cause.issue).issues.map((issue) => ({
    field:
      (issue.path ?? [])
        .map((segment) => String(typeof segment === "object" ? segment.key : segment))
        .join(".") || slotOf[error.kind],
    message: issue.message,
  }))
  return Effect.fail(
    new BadApprovalRequest({
      field: issues[0]?.field ?? slotOf[error.kind],
      message: issues.map((issue) => `${issue.field}: ${issue.message}`).join("; "),
    }),
  )
})

const refusalText: Record<ApprovalRefusal, string> = {
  "parameters-mismatch": "the hash is not that of the action's parameters",
  expired: "the approval deadline has passed",
  "already-decided": "the action was decided before",
  "not-awaiting-approval": "the action is not waiting for a decision",
  "self-approval": "the agent that requested the action cannot decide on it",
  "not-a-named-approver": "the policy names other people to decide this action",
}

const answer = (outcome: ApprovalOutcome) =>
  outcome._tag === "Refused"
    ? Effect.fail(
        new DecisionRefused({
          refusal: outcome.refusal,
          message: `refused (${outcome.refusal}): ${refusalText[outcome.refusal]}`,
        }),
      )
    : Effect.succeed(outcome)

/** The HTTP error of an approval error; `field` is the body field an invalid decision is about. */
const httpErrorOf = (field: string) => (error: ApprovalError) => {
  const reason = error.reason
  switch (reason._tag) {
    case "UnknownAction":
      return new ActionNotFound({ agent: reason.agent, actionId: reason.actionId, message: error.message })
    case "InvalidDecision":
      return new BadApprovalRequest({ field, message: `${field}: ${reason.message}` })
    case "ApprovalUnavailable":
      return new ApprovalsUnavailable({ message: error.message })
  }
}

// The read model keeps parameters as the JSON text of a decoded `ActionRequested`; the response
// schema checks them again on the way out.
const entryOf = (action: QueuedAction) => ({ ...action, parameters: action.parameters as ActionParameters })

const ApprovalsHandlers = HttpApiBuilder.group(ApprovalsApi, "approvals", (handlers) =>
  Effect.gen(function* () {
    const approvals = yield* Approvals
    return handlers.handleAll({
      queue: ({ query }) =>
        approvals.queue(query.agent).pipe(
          Effect.map((queue) => ({ queue: queue.map(entryOf) })),
          Effect.mapError(
            (error) =>
              new ApprovalsUnavailable({
                message: error.reason._tag === "ApprovalUnavailable" ? error.reason.message : error.message,
              }),
          ),
        ),
      approve: ({ params, payload }) =>
        Effect.gen(function* () {
          const approver = yield* CurrentApprover
          const outcome = yield* approvals
            .approve({ ...params, approver: approver.identity, parametersHash: payload.parametersHash })
            .pipe(Effect.mapError(httpErrorOf("parametersHash")))
          return yield* answer(outcome)
        }),
      reject: ({ params, payload }) =>
        Effect.gen(function* () {
          const approver = yield* CurrentApprover
          const outcome = yield* approvals
            .reject({ ...params, approver: approver.identity, reason: payload.reason })
            .pipe(Effect.mapError(httpErrorOf("reason")))
          return yield* answer(outcome)
        }),
    })
  }),
).pipe(Layer.provide([ApproverAuthLive, ApprovalsBadInputLive]))

/**
 * The approvals API as HTTP routes, with its OpenAPI document at `/approvals/openapi.json`: the
 * decisions and the queue come from `Approvals`, who may decide from `ApproverTokens`.
 */
export const approvalsHttp: Layer.Layer<never, never, HttpRouter.HttpRouter | Approvals | ApproverTokens> =
  HttpApiBuilder.layer(ApprovalsApi, { openapiPath: approvalsOpenApiPath }).pipe(
    Layer.provide(ApprovalsHandlers),
    // What HttpApi's routes may use (files, ETags); the agent's server has them too, but the
    // routes of an agent may require nothing beyond the router and the agent's own services.
    Layer.provide(Layer.mergeAll(NodeServices.layer, NodeHttpPlatform.layer, Etag.layerWeak)),
  )

/**
 * The approvals API as routes of the agent that owns the actions: `routes: [approvalsRoutes]`,
 * with `Approvals` and `ApproverTokens` in the agent's layer.
 */
export const approvalsRoutes = <D extends EventDefinition>(
  _context: AgentContext<D>,
): Layer.Layer<never, never, HttpRouter.HttpRouter | Approvals | ApproverTokens> => approvalsHttp
