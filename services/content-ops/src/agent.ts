import type { ActionGate, Approvals, ApproverTokens, ConnectorRegistry } from "@mesh/actions"
import { actionExecutorWorker, actionsProjectionWorker, approvalsRoutes } from "@mesh/actions"
import type { MeshNamespace, NatsClient } from "@mesh/eventlog"
import { defineAgent, projectionWorker } from "@mesh/kernel"
import type { DecisionRecorder, ModelProvider } from "@mesh/models"
import type { Registers } from "@mesh/registers"
import { contentOpsAggregates } from "./aggregates.ts"
import { type ContentOpsDefs, contentOpsCatalog } from "./catalog.ts"
import { type ContentOpsSettings, contentOpsName } from "./config.ts"
import type { ContentLedger } from "./contentLedger.ts"
import { noteResolvedQuestions, proposeArticles } from "./handlers/knowledge.ts"
import {
  answerViolations,
  draftListings,
  publishListings,
  recordPublishOutcomes,
  trackListings,
  watchStock,
} from "./handlers/listings.ts"
import { listingRoutes } from "./http/routes.ts"
import { listingsProjection } from "./projections/listingsReadModel.ts"

/** Every service the content-ops agent's parts require; its layer provides them all. */
export type ContentOpsServices =
  | ModelProvider
  | DecisionRecorder
  | ActionGate
  | ConnectorRegistry
  | Approvals
  | ApproverTokens
  | Registers
  | ContentLedger
  | ContentOpsSettings
  // The host's own: its availability changes wait on the previous one's action.
  | NatsClient
  | MeshNamespace

/**
 * The content-ops agent: keeps the catalogue right. A product's facts become a listing drafted by
 * the `draftListing` skill and checked against them; a faithful draft is published (by its policy,
 * or after approval), one that invents a fact waits for a person; a published listing flips to out
 * of stock and back with the stock free to promise, and answers the resolver's "a published listing
 * has stock"; and it learns the shop's frequent questions from resolved tickets and proposes a
 * knowledge-base article for each, which customer ops drafts for a person's approval.
 */
export const contentOpsAgent = defineAgent<ContentOpsDefs, ContentOpsServices>({
  name: contentOpsName,
  catalog: contentOpsCatalog,
  aggregates: contentOpsAggregates,
  reactors: [
    draftListings({ agent: contentOpsName }),
    publishListings({ agent: contentOpsName }),
    recordPublishOutcomes({ agent: contentOpsName }),
    trackListings({ agent: contentOpsName }),
    watchStock(),
    answerViolations({ agent: contentOpsName }),
    noteResolvedQuestions(),
    proposeArticles({ agent: contentOpsName }),
  ],
  workers: [projectionWorker(listingsProjection), actionsProjectionWorker(), actionExecutorWorker()],
  routes: [listingRoutes, approvalsRoutes],
})
