import { offlineAnswer } from "@mesh/models"
import type { TaskAnswers } from "@mesh/models/testing"
import { draftReply } from "../skills/draftReply.ts"
import { triageTicket, triageTicketV1, triageTicketV2 } from "../skills/triageTicket.ts"

/**
 * What a fake Ollama (`startFakeOllama({ answers })`) answers to the agent's prompts, by the task their marker
 * names: the offline answer of the skill version that wrote the prompt, as a well-behaved model would.
 */
export const customerOpsTaskAnswers: TaskAnswers = {
  triage_ticket: (input, variant) =>
    offlineAnswer(variant >= 3 ? triageTicket : variant === 2 ? triageTicketV2 : triageTicketV1, input),
  draft_reply: (input) => offlineAnswer(draftReply, input),
}
