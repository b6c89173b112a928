/**
 * The agent's model-backed skills, their schemas, their offline implementations and their evals: what the
 * command line (`mesh eval`) and the benchmarks use, without loading the agent itself.
 */
export { contentOpsBaselinesFile, contentOpsSkillEvals } from "../evals/evaluated.ts"
export { type ContentOpsSkillAction, contentOpsSkillActions } from "./actions.ts"
export { DraftArticleInput, DraftArticleOutput, draftArticle, draftArticleOffline } from "./draftArticle.ts"
export {
  draftListing,
  draftListingBatch,
  draftListingVersions,
  MAX_LISTINGS_PER_CALL,
} from "./draftListing.ts"
export { DraftListingInput, DraftListingOutput, MAX_LISTING_TITLE } from "./tasks.ts"
