import { readFileSync } from "node:fs"
import { decodePolicyJson, mailboxApi, paymentApi } from "@mesh/actions"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { policyFiles } from "../policy/replyPolicy.ts"
import { customerOpsSkillActions } from "./actions.ts"
import { draftReply } from "./draftReply.ts"
import { triageTicketVersions } from "./triageTicket.ts"

const skills = [...triageTicketVersions, draftReply]

describe("the actions of the agent's skills", () => {
  it("each map to one action kind a connector executes and the action policy lets that skill request", () => {
    const policy = Result.getOrThrow(
      decodePolicyJson(readFileSync(policyFiles.actions, "utf8"), "actions.json"),
    )
    const named = skills.flatMap((skill) =>
      skill.allowedActions.map((action) => [skill.name, action, customerOpsSkillActions[action]] as const),
    )
    expect(named).toEqual([
      ["draftReply", "send-reply", "mailbox.send-message"],
      ["draftReply", "request-refund", "payment.refund"],
    ])
    const executed = [mailboxApi, paymentApi].flatMap((api) => api.actions.map((a) => a.execute.kind))
    for (const [skill, , kind] of named) {
      expect(executed).toContain(kind)
      expect(policy.skills[skill]).toContain(kind)
    }
  })
})
