import { Schema } from "effect"
import { defineEvent } from "../catalog.ts"
import { Instant } from "../envelope.ts"
import { personal } from "../personal.ts"
import { anyAggregateType, SubjectToken } from "../subjects.ts"
import { Sha256Hex } from "./actions.ts"
import { NonEmpty } from "./common.ts"

// The requests domain is a platform domain: what reached the mesh from outside, as it arrived,
// whether or not it decided anything. Its aggregate type is the agent that received it, and its id
// the request's command id, so a request is `mesh.requests.<agent>.<requestId>`, written once: a
// retried webhook or command deduplicates. A request that starts a chain (intake, a command from
// the command line, a scheduled trigger) is the root of the chain's causal tree: the chain's
// correlation id is its request id. One that answers a chain (an approval) joins it.
const domain = "requests" as const
const aggregateType = anyAggregateType

/** How a request reached the mesh. */
export const RequestOrigin = Schema.Literals(["http", "cli", "schedule", "replay"])
/** How a request reached the mesh. */
export type RequestOrigin = typeof RequestOrigin.Type

/** The id of an outside request: its command id, which the commands and events it causes cite. */
export const RequestId = SubjectToken

/** An outside request as the mesh received it: a webhook, a command line, an approval, a scheduled trigger. */
export const RequestReceived = defineEvent({
  type: "RequestReceived",
  domain,
  aggregateType,
  payload: Schema.Struct({
    requestId: RequestId,
    /** What it asks for, as the command it carries is named (`OpenTicket`, `ApproveAction`, …). */
    name: NonEmpty,
    origin: RequestOrigin,
    receivedAt: Instant,
    /**
     * The request as received, or null when it carries personal data an operator marked to keep
     * out of the log: then only its digest is kept, enough to show that a replayed request is the
     * same one.
     */
    body: personal("value")(Schema.NullOr(Schema.Unknown)),
    /** SHA-256 of the body's canonical JSON. */
    bodySha256: Sha256Hex,
  }),
  summary: "A request reached the mesh from outside; the root (or a joining branch) of a causal chain.",
  producer: "any agent, mesh",
  consumers: ["replay", "trace"],
})

/** Every public event of the requests domain. */
export const requestEvents = [RequestReceived] as const
