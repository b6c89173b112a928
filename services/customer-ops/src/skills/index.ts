/**
 * The agent's model-backed skills, their schemas, their offline implementations and their evals: what the
 * command line (`mesh eval`) and the benchmarks use, without loading the agent itself.
 */
export { customerOpsSkillEvals, ticketBaselinesFile } from "../evals/evaluated.ts"
export { type LabelledTicket, parseLabelledTickets, triageInputOf } from "../evals/labelledTickets.ts"
export { type CustomerOpsSkillAction, customerOpsSkillActions } from "./actions.ts"
export { draftReply } from "./draftReply.ts"
export {
  committedTriageModel,
  triageArtefactFile,
  triageTrainingDirectory,
} from "./offline/learned/triageArtefact.ts"
export { classifiedText, MAX_CLASSIFIED_CHARS, triageWithModel } from "./offline/learned/triageModel.ts"
export {
  DraftReplyInput,
  DraftReplyOutput,
  ReplyAction,
  ReplyFact,
  ReplyThread,
  TicketPriority,
  TriageInput,
  TriageOutput,
} from "./tasks.ts"
export { triageTicket, triageTicketV1, triageTicketV2, triageTicketVersions } from "./triageTicket.ts"
