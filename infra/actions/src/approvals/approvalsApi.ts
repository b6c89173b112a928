import { ActionParameters, ApprovalRefusal, Money, Sha256Hex, SubjectToken } from "@mesh/contracts"
import { Context, Schema } from "effect"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSecurity,
  OpenApi,
} from "effect/http-api"

// The approvals API as a definition only (schemas, errors, endpoints), apart from the handlers in
// approvalsRoutes.ts, so that a client can be derived from it without the server's dependencies.

/** The approver a request's bearer token stands for: the actor recorded with the decision. */
export class CurrentApprover extends Context.Service<CurrentApprover, { readonly identity: string }>()(
  "mesh/CurrentApprover",
) {}

/** 401: the request has no bearer token, or one that belongs to no approver. */
export class UnknownApprover extends Schema.TaggedError<UnknownApprover>()(
  "UnknownApprover",
  { message: Schema.String },
  { httpApiStatus: 401, description: "No bearer token, or one that belongs to no approver" },
) {}

/** 400: the request does not decode; `field` names the value at fault (`parametersHash`, `reason`, `agent`). */
export class BadApprovalRequest extends Schema.TaggedError<BadApprovalRequest>()(
  "BadApprovalRequest",
  { field: Schema.String, message: Schema.String },
  { httpApiStatus: 400, description: "The request does not decode; `field` names the value at fault" },
) {}

/** 404: the agent has no action with this id. */
export class ActionNotFound extends Schema.TaggedError<ActionNotFound>()(
  "ActionNotFound",
  { agent: Schema.String, actionId: Schema.String, message: Schema.String },
  { httpApiStatus: 404, description: "The agent has no action with this id" },
) {}

/** 409: the action's decider refused the decision; `refusal` says why (recorded in the log). */
export class DecisionRefused extends Schema.TaggedError<DecisionRefused>()(
  "DecisionRefused",
  { refusal: ApprovalRefusal, message: Schema.String },
  {
    httpApiStatus: 409,
    description:
      "The action refused the decision: other parameters than shown, past its deadline, decided before, not waiting, or the requester approving itself",
  },
) {}

/** 503: the log or the queue could not be reached; the decision was not recorded, try again. */
export class ApprovalsUnavailable extends Schema.TaggedError<ApprovalsUnavailable>()(
  "ApprovalsUnavailable",
  { message: Schema.String },
  { httpApiStatus: 503, description: "The log or the queue could not be reached; nothing was recorded" },
) {}

const approverBearer = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotateMerge(
    OpenApi.annotations({ description: "An approver's token, one of MESH_APPROVER_TOKENS" }),
  ),
)

/** Bearer authentication of approvers; it provides the `CurrentApprover` to the handlers. */
export class ApproverAuth extends HttpApiMiddleware.Service<ApproverAuth, { provides: CurrentApprover }>()(
  "mesh/ApproverAuth",
  {
    security: {
      bearer: approverBearer,
    },
    error: UnknownApprover,
  },
) {}

/** Turns the API's own decoding failures (params, query, body) into a 400 naming the field. */
export class ApprovalsBadInput extends HttpApiMiddleware.Service<ApprovalsBadInput>()(
  "mesh/ApprovalsBadInput",
  { error: BadApprovalRequest },
) {}

/** The path of one action: the agent that owns it and its id. */
export const ActionPath = { agent: SubjectToken, actionId: SubjectToken }

/** The body of an approval: the hash of the parameters the approver was shown. */
export const ApproveBody = Schema.Struct({
  parametersHash: Sha256Hex.annotate({
    description:
      "The `parametersHash` the queue showed: the lowercase hex SHA-256 of the parameters approved",
  }),
})

/** The body of a rejection: why, in words. */
export const RejectBody = Schema.Struct({
  reason: Schema.String.check(
    Schema.isPattern(/\S/, { message: "must say why (a reason that is not blank)" }),
  ).annotate({ description: "Why the action must not run, recorded with the rejection" }),
})

/** One action waiting for a human, with the hash an approval must name. */
export const QueueEntry = Schema.Struct({
  agent: Schema.String,
  actionId: Schema.String,
  kind: Schema.String,
  skill: Schema.String,
  status: Schema.Literals(["awaiting-approval", "parked"]),
  parameters: ActionParameters,
  parametersHash: Sha256Hex,
  amount: Schema.NullOr(Money),
  reason: Schema.NullOr(Schema.String),
  policy: Schema.Struct({ workflow: Schema.String, version: Schema.String, rule: Schema.String }),
  requestedAt: Schema.String,
  expiresAt: Schema.NullOr(Schema.String),
})

/** The approvals queue: waiting and parked actions, oldest first. */
export const ApprovalQueue = Schema.Struct({ queue: Schema.Array(QueueEntry) })

/** What a decision did: approved (runnable until `expiresAt`) or rejected for good. */
export const DecisionOutcome = Schema.Union([
  Schema.TaggedStruct("Approved", { expiresAt: Schema.String }),
  Schema.TaggedStruct("Rejected", {}),
])

const decisionErrors = [ActionNotFound, DecisionRefused, ApprovalsUnavailable]

/** The endpoints of the approvals API: the queue, an approval and a rejection. */
export class ApprovalsGroup extends HttpApiGroup.make("approvals")
  .add(
    HttpApiEndpoint.get("queue", "/approvals", {
      query: { agent: Schema.optional(SubjectToken) },
      success: ApprovalQueue,
      error: ApprovalsUnavailable,
    }).annotateMerge(
      OpenApi.annotations({
        summary: "The actions waiting for a human",
        description:
          "Actions awaiting approval or parked after their retries, oldest first, with their parameters and the hash an approval must name. It shows parameters, so it needs a token too.",
      }),
    ),
    HttpApiEndpoint.post("approve", "/approvals/:agent/:actionId/approve", {
      params: ActionPath,
      payload: ApproveBody,
      success: DecisionOutcome,
      error: decisionErrors,
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Approve an action's exact parameters",
        description:
          "Approves the parameters whose hash the approver was shown, as the token's identity. Other parameters, a passed deadline, a second decision, self-approval or a person the policy does not name for the action are refused (409) and recorded.",
      }),
    ),
    HttpApiEndpoint.post("reject", "/approvals/:agent/:actionId/reject", {
      params: ActionPath,
      payload: RejectBody,
      success: DecisionOutcome,
      error: decisionErrors,
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Reject an action for good",
        description: "Rejects a waiting or parked action, as the token's identity, with a reason.",
      }),
    ),
  )
  // The last middleware runs first: a caller without a token learns nothing about its input.
  .middleware(ApprovalsBadInput)
  .middleware(ApproverAuth) {}

/** The approvals API of an agent that owns actions; its OpenAPI document is at `approvalsOpenApiPath`. */
export class ApprovalsApi extends HttpApi.make("approvals")
  .add(ApprovalsGroup)
  .annotateMerge(
    OpenApi.annotations({
      title: "Agent Mesh approvals",
      version: "1",
      description:
        "Human approval of an agent's side effects. An approval is bound to the hash of the parameters the approver was shown; every decision is an event of the action's history, with the token's identity as its actor.",
    }),
  ) {}

/** Where an agent serving the approvals API serves its OpenAPI document. */
export const approvalsOpenApiPath = "/approvals/openapi.json"
