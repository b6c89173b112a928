import { describe, expect, it } from "vitest"
import { draftReply } from "./draftReply.ts"
import { triageTicketVersions } from "./triageTicket.ts"

describe("customer-ops skills' workload", () => {
  it("is interactive: a customer waits on triage and on the reply", () => {
    for (const skill of [...triageTicketVersions, draftReply])
      expect(skill.workload ?? "interactive").toBe("interactive")
  })
})
