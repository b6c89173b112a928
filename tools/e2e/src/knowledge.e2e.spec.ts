import { type ContentOpsProcess, startContentOps } from "@mesh/content-ops/testing"
import type { EventEnvelope } from "@mesh/contracts"
import { articleIdOfAnswer, customerOpsName } from "@mesh/customer-ops"
import { type CustomerOpsProcess, owner, startCustomerOps } from "@mesh/customer-ops/testing"
import { type Simulators, startSimulators } from "@mesh/simulators"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

// Knowledge that compounds, across the agents: customers ask the shop the same product question in
// their own words, a person answers each, and once three tickets asking it are resolved content ops
// proposes an article, which customer ops drafts for a person's approval. Until a person approves
// it no reply cites it; once approved, the next customer asking is answered from it without a
// person. Both agents in their own processes, in one namespace on one NATS server, on the offline
// model: the sentence encoder that compares questions is the one their thresholds were measured with.

const nats = useNatsServer()
let simulators: Simulators
let content: ContentOpsProcess | undefined
let shop: CustomerOpsProcess | undefined

beforeAll(async () => {
  simulators = await startSimulators()
  const namespace = uniqueNamespace("knowledge")
  content = await startContentOps(nats.url, { namespace, simulators, model: "offline" })
  shop = await startCustomerOps(nats.url, { namespace, simulators })
}, 180_000)

afterAll(async () => {
  await shop?.stop()
  await content?.stop()
  await simulators?.stop()
})

const agents = () => {
  if (content === undefined || shop === undefined) throw new Error("the agents did not start")
  return { content, shop }
}

/** A customer asking the shop, and how. */
interface Asker {
  readonly customerId: string
  readonly subject: string
  readonly body: string
}

// One question, the stoneware mug in the microwave, as five customers put it. Nothing on record
// answers it, so the shop's people do until an article does. The offline encoder scores these
// 0.77-0.89 against each other (MESH_FAQ_SIMILARITY is 0.6), and the article drafted from the
// first three 0.82 against the last two (an article is recalled from 0.55).
const askers = [
  { customerId: "c-1", subject: "Mug", body: "Hello, can the stoneware mug go in the microwave?" },
  { customerId: "c-2", subject: "Microwave", body: "Hi, is your stoneware mug microwave safe?" },
  {
    customerId: "c-3",
    subject: "Mug and microwave",
    body: "Hello! Can I heat tea in the stoneware mug in the microwave, or will it crack?",
  },
  {
    customerId: "c-4",
    subject: "Stoneware mug",
    body: "Is it ok to put the stoneware mug in a microwave oven?",
  },
  { customerId: "c-5", subject: "Mugs", body: "Are the stoneware mugs safe for the microwave?" },
] as const

// What a person answered each of the first three, greeting and sign-off included.
const answers = [
  "Hi,\nYes, the stoneware mug is microwave safe.\nBest,\nSam",
  "Hello,\nYes, you can use it in the microwave.\nKind regards,\nSam",
  "Hi,\nYes: the stoneware mug is safe in the microwave and the dishwasher. Let it cool before moving it from the freezer to the microwave, as a sudden change of temperature can crack stoneware.\nBest wishes,\nSam",
] as const
// The article the offline model drafts from them: the plainest question asked, and the last answer
// as an article says it.
const articleTitle = "Is your stoneware mug microwave safe?"
const articleBody =
  "Yes: the stoneware mug is safe in the microwave and the dishwasher. Let it cool before moving it from the freezer to the microwave, as a sudden change of temperature can crack stoneware."

const ask = async (asker: Asker): Promise<string> => {
  const response = await agents().shop.send({
    messageId: `m-${asker.customerId}`,
    customerId: asker.customerId,
    replyTo: `${asker.customerId}@example.com`,
    subject: asker.subject,
    body: asker.body,
  })
  expect(response.status).toBe(202)
  return ((await response.json()) as { ticketId: string }).ticketId
}

const asOwner = { authorization: `Bearer ${owner.token}`, "content-type": "application/json" }

const mailTo = (customerId: string) =>
  simulators.mailbox.ledger().filter((entry) => entry.params.to === `${customerId}@example.com`)

const ofType = (events: ReadonlyArray<EventEnvelope>, type: string) => events.filter((e) => e.type === type)

/** The payload of an event the log must hold. */
const payloadOf = <P>(event: EventEnvelope | undefined): P => {
  expect(event).toBeDefined()
  return (event as EventEnvelope).payload as P
}

interface KnowledgeDraftedPayload {
  readonly tenantId: string
  readonly version: number
  readonly title: string
  readonly body: string
  readonly actionId: string
  readonly source: { readonly _tag: string } & Readonly<Record<string, unknown>>
}

interface ProposedPayload {
  readonly proposalId: string
  readonly title: string
  readonly body: string
  readonly ticketIds: ReadonlyArray<string>
  readonly decisionId: string
  readonly intent: string
}

/** The customer stream's knowledge drafts that came from content ops' proposals. */
const proposalDrafts = (events: ReadonlyArray<EventEnvelope>) =>
  ofType(events, "KnowledgeDrafted").filter(
    (e) => (e.payload as KnowledgeDraftedPayload).source._tag === "Proposal",
  )

interface ReactorStatus {
  readonly name: string
  readonly pending: number | null
  readonly unacknowledged: number | null
  readonly skipped: Readonly<Record<string, number>>
}

/** An agent's reactor as its /status shows it. */
const reactorOf = async (url: string, name: string): Promise<ReactorStatus | undefined> => {
  const status = (await (await fetch(`${url}/status`)).json()) as { reactors: ReadonlyArray<ReactorStatus> }
  return status.reactors.find((r) => r.name === name)
}

/** Waits until an agent's reactor has taken every event of the log it reads. */
const caughtUp = (agent: { url: string; until: CustomerOpsProcess["until"] }, name: string) =>
  agent.until(`${name} has taken every event`, async () => {
    const reactor = await reactorOf(agent.url, name)
    return reactor?.pending === 0 && reactor.unacknowledged === 0 ? reactor : undefined
  })

const asked: Array<string> = []
/** The articles the persons' answers to the asked questions were drafted as. */
const answerArticles: Array<string> = []
let article:
  | { readonly articleId: string; readonly actionId: string; readonly parametersHash: string }
  | undefined

describe("a knowledge-base article proposed from resolved tickets", () => {
  it("is proposed once three customers asked the same question in their own words and a person answered each", async () => {
    const { content, shop } = agents()
    for (const [i, asker] of askers.slice(0, 3).entries()) {
      const ticketId = await ask(asker)
      asked.push(ticketId)
      // Nothing on record answers it: the ticket goes to a person.
      const escalated = await shop.until(`${asker.customerId}'s question goes to a person`, async () => {
        const view = await shop.ticket(ticketId)
        return view?.escalated ? view : undefined
      })
      expect(escalated).toMatchObject({ intent: "product_question", replySent: false })
      expect(escalated.escalationCodes).toContain("no-facts")
      const written = await fetch(`${shop.url}/tickets/${ticketId}/answer`, {
        method: "POST",
        headers: asOwner,
        body: JSON.stringify({ body: answers[i] }),
      })
      expect(written.status).toBe(202)
      await shop.until(`${asker.customerId}'s ticket is resolved by the person's answer`, async () =>
        (await shop.ticket(ticketId))?.status === "resolved" ? true : undefined,
      )
      expect(String(mailTo(asker.customerId)[0]?.params.body)).toBe(answers[i])
      // Each resolved ticket is noted before the next is asked, so the third completes the group.
      await content.until(`${asker.customerId}'s question is noted`, async () =>
        (await content.everything()).some(
          (e) =>
            e.type === "ResolvedQuestionNoted" && (e.payload as { ticketId: string }).ticketId === ticketId,
        )
          ? true
          : undefined,
      )
    }

    const contentEvents = await content.until("content ops proposes an article", async () => {
      const events = await content.everything()
      return ofType(events, "KnowledgeArticleProposed").length > 0 ? events : undefined
    })

    // Each question was noted beside the earlier ones that ask the same by meaning.
    const noted = ofType(contentEvents, "ResolvedQuestionNoted").map(
      (e) => e.payload as { ticketId: string; similarTo: ReadonlyArray<string> },
    )
    expect(noted.map((n) => n.ticketId)).toEqual(asked)
    expect(noted.map((n) => [...n.similarTo].sort())).toEqual([[], [asked[0]], [asked[0], asked[1]].sort()])

    // One frequent question of the three tickets, and one article proposed for it.
    const found = ofType(contentEvents, "FrequentQuestionFound")
    expect(found).toHaveLength(1)
    const frequent = found[0] as EventEnvelope
    const frequentPayload = frequent.payload as {
      proposalId: string
      intent: string
      ticketIds: ReadonlyArray<string>
      answers: ReadonlyArray<string>
    }
    expect([...frequentPayload.ticketIds].sort()).toEqual([...asked].sort())
    expect(frequentPayload).toMatchObject({ intent: "product_question", answers })
    const proposals = ofType(contentEvents, "KnowledgeArticleProposed")
    expect(proposals).toHaveLength(1)
    const proposed = proposals[0] as EventEnvelope
    const proposal = proposed.payload as ProposedPayload
    expect(proposal).toMatchObject({
      tenantId: "shop",
      intent: "product_question",
      proposalId: frequentPayload.proposalId,
      title: articleTitle,
      body: articleBody,
    })
    expect([...proposal.ticketIds].sort()).toEqual([...asked].sort())
    expect(proposed.aggregateId).toBe(frequent.aggregateId)

    // The article traces to its decision, which the frequent question caused.
    const decision = contentEvents.find(
      (e) => e.type === "DecisionRecorded" && e.aggregateId === proposal.decisionId,
    )
    expect(decision?.payload).toMatchObject({
      decisionId: proposal.decisionId,
      agent: "content-ops",
      skill: "draftArticle",
      outcome: "answered",
      provider: "offline",
    })
    expect(decision?.causationId).toBe(frequent.eventId)
    expect(decision?.correlationId).toBe(frequent.correlationId)
    const { output } = payloadOf<{ output: { _tag: string; text?: string } }>(decision)
    expect(output._tag).toBe("Inline")
    expect(JSON.parse(output.text ?? "null")).toEqual({ title: proposal.title, body: proposal.body })

    // Customer ops drafts it as an article of its own, from the proposal, and offers it for approval.
    const drafted = await shop.until("customer ops drafts the proposed article", async () => {
      const [draft] = proposalDrafts(await shop.everything())
      return draft
    })
    const draft = drafted.payload as KnowledgeDraftedPayload
    expect(draft).toMatchObject({
      version: 1,
      title: proposal.title,
      body: proposal.body,
      intent: "product_question",
      source: {
        _tag: "Proposal",
        proposedBy: "content-ops",
        proposalId: proposal.proposalId,
        decisionId: proposal.decisionId,
      },
    })
    expect([...(draft.source.ticketIds as ReadonlyArray<string>)].sort()).toEqual([...asked].sort())
    expect(drafted.causationId).toBe(proposed.eventId)
    const publish = await shop.until("the proposed article's publish action waits for approval", async () =>
      (await shop.approvals()).find((e) => e.actionId === draft.actionId),
    )
    expect(publish).toMatchObject({
      kind: "knowledge.publish",
      parameters: { articleId: drafted.aggregateId, version: 1, title: articleTitle, body: articleBody },
    })
    article = {
      articleId: drafted.aggregateId,
      actionId: draft.actionId,
      parametersHash: String(publish.parametersHash),
    }

    // Each person's answer is also drafted as an article of its own, keyed by the answer, as any
    // person's answer is: three more drafts (the answers differ), none of them the proposal, all
    // waiting for a person.
    const customerEvents = await shop.until("every person's answer is drafted too", async () => {
      const events = await shop.everything()
      const fromTickets = ofType(events, "KnowledgeDrafted").filter(
        (e) => (e.payload as KnowledgeDraftedPayload).source._tag === "Ticket",
      )
      return fromTickets.length === asked.length ? events : undefined
    })
    const fromTickets = ofType(customerEvents, "KnowledgeDrafted").filter(
      (e) => (e.payload as KnowledgeDraftedPayload).source._tag === "Ticket",
    )
    expect(
      fromTickets.map((e) => (e.payload as KnowledgeDraftedPayload).source.ticketId as string).sort(),
    ).toEqual([...asked].sort())
    for (const e of fromTickets) {
      const p = e.payload as KnowledgeDraftedPayload
      expect(e.aggregateId).toBe(articleIdOfAnswer(p.tenantId, p.body))
    }
    answerArticles.push(...fromTickets.map((e) => e.aggregateId))
    expect(new Set(answerArticles).size).toBe(asked.length)
    expect(fromTickets.map((e) => e.aggregateId)).not.toContain(article.articleId)
    expect(proposalDrafts(customerEvents)).toHaveLength(1)
    expect(ofType(customerEvents, "KnowledgeApproved")).toHaveLength(0)
  })

  it("is not cited by any reply while it waits for a person's approval", async () => {
    const { shop } = agents()
    const proposed = article
    expect(proposed).toBeDefined()
    if (proposed === undefined) return
    const ticketId = await ask(askers[3])
    const view = await shop.until("the fourth question is answered or goes to a person", async () => {
      const seen = await shop.ticket(ticketId)
      return seen?.escalated || seen?.replySent ? seen : undefined
    })
    const events = await shop.everything()

    // The draft cites nothing: with no approved article the reply has no facts, so a person takes it.
    const drafted = events.filter((e) => e.type === "ReplyDrafted" && e.aggregateId === ticketId)
    expect(drafted).toHaveLength(1)
    const draft = payloadOf<{ decisionId: string; citedFactIds?: ReadonlyArray<string> }>(drafted[0])
    const cited = draft.citedFactIds ?? []
    expect(cited.filter((id) => id.startsWith(proposed.articleId))).toEqual([])
    expect(cited).toEqual([])
    const decision = events.find((e) => e.type === "DecisionRecorded" && e.aggregateId === draft.decisionId)
    expect(decision?.payload).toMatchObject({ skill: "draftReply", retrieved: [] })
    expect(view).toMatchObject({ intent: "product_question", escalated: true, replySent: false })
    expect(view.escalationCodes).toContain("no-facts")
    expect(view.draftedReply).not.toContain(articleBody)
    expect(events.filter((e) => e.type === "ReplySent" && e.aggregateId === ticketId)).toHaveLength(0)
    expect(mailTo(askers[3].customerId)).toHaveLength(0)
    // It still waits.
    expect((await shop.approvals()).map((e) => e.actionId)).toContain(proposed.actionId)
  })

  it("answers the next customer on its own, citing it, once a person approves it", async () => {
    const { shop } = agents()
    const proposed = article
    expect(proposed).toBeDefined()
    if (proposed === undefined) return
    const approved = await fetch(`${shop.url}/approvals/${customerOpsName}/${proposed.actionId}/approve`, {
      method: "POST",
      headers: asOwner,
      body: JSON.stringify({ parametersHash: proposed.parametersHash }),
    })
    expect(approved.status).toBeLessThan(300)
    const afterApproval = await shop.until("the proposed article is approved", async () => {
      const events = await shop.everything()
      return events.some((e) => e.type === "KnowledgeApproved" && e.aggregateId === proposed.articleId)
        ? events
        : undefined
    })
    expect(
      payloadOf(
        afterApproval.find((e) => e.type === "ActionApproved" && e.aggregateId === proposed.actionId),
      ),
    ).toMatchObject({ approver: owner.name, parametersHash: proposed.parametersHash })
    // Long-term memory follows the log: its reactor has taken the approval once nothing is pending for it.
    await caughtUp(shop, "customer-ops-remember-knowledge")

    const ticketId = await ask(askers[4])
    const view = await shop.until("the fifth question is answered or goes to a person", async () => {
      const seen = await shop.ticket(ticketId)
      return seen?.replySent || seen?.escalated ? seen : undefined
    })
    expect(view).toMatchObject({
      intent: "product_question",
      disposition: "auto-send",
      escalated: false,
      replySent: true,
    })
    const events = await shop.everything()
    const cite = `${proposed.articleId}@v1`

    // The reply cites the approved article, and only it: no ticket's own draft was approved.
    const drafted = events.find((e) => e.type === "ReplyDrafted" && e.aggregateId === ticketId)
    const draft = payloadOf<{ decisionId: string; citedFactIds: ReadonlyArray<string> }>(drafted)
    expect(draft.citedFactIds).toEqual([cite])
    const decision = events.find((e) => e.type === "DecisionRecorded" && e.aggregateId === draft.decisionId)
    expect(payloadOf<{ retrieved: ReadonlyArray<unknown> }>(decision).retrieved).toEqual([
      expect.objectContaining({ memoryId: cite, kind: "kb_article" }),
    ])
    expect(String(mailTo(askers[4].customerId)[0]?.params.body)).toContain(articleBody)

    // Sent by the policy, without a person: the send was allowed outright and nobody approved it.
    const sent = events.filter((e) => e.type === "ReplySent" && e.aggregateId === ticketId)
    expect(sent).toHaveLength(1)
    const { actionId } = payloadOf<{ actionId: string }>(sent[0])
    const ofAction = events.filter((e) => e.aggregateId === actionId).map((e) => e.type)
    expect(ofAction).toContain("ActionSucceeded")
    expect(ofAction).not.toContain("ActionAwaitingApproval")
    expect(ofAction).not.toContain("ActionApproved")
    const requested = events.find((e) => e.type === "ActionRequested" && e.aggregateId === actionId)
    expect(requested?.payload).toMatchObject({ policy: { verdict: { mode: "auto" } } })

    // The per-ticket drafts still wait: the only approved article is the proposal.
    expect(ofType(events, "KnowledgeApproved").map((e) => e.aggregateId)).toEqual([proposed.articleId])
    const waiting = (await shop.approvals()).filter((e) => e.kind === "knowledge.publish")
    expect(waiting.map((e) => (e.parameters as { articleId: string }).articleId).sort()).toEqual(
      [...answerArticles].sort(),
    )
  })

  it("is not proposed again from the replies it gave", async () => {
    const { content, shop } = agents()
    // Three more customers ask, and the article answers each on its own.
    const more = [
      { customerId: "c-6", subject: "Microwave?", body: "Can the stoneware mug be used in a microwave?" },
      { customerId: "c-7", subject: "Stoneware", body: "Is the stoneware mug fine in the microwave?" },
      { customerId: "c-8", subject: "Mug", body: "Can the stoneware mug be heated in the microwave?" },
    ]
    const answered: Array<string> = []
    for (const asker of more) {
      const ticketId = await ask(asker)
      answered.push(ticketId)
      const view = await shop.until(`${asker.customerId}'s ticket is resolved`, async () => {
        const seen = await shop.ticket(ticketId)
        return seen?.status === "resolved" || seen?.escalated ? seen : undefined
      })
      expect(view).toMatchObject({ status: "resolved", disposition: "auto-send", replySent: true })
    }
    const customerEvents = await shop.everything()
    for (const ticketId of answered)
      expect(
        payloadOf<{ citedFactIds: ReadonlyArray<string> }>(
          customerEvents.find((e) => e.type === "ReplyDrafted" && e.aggregateId === ticketId),
        ).citedFactIds,
      ).toEqual([`${article?.articleId}@v1`])

    // Content ops took their resolutions and learnt nothing from them: the agent's replies say what
    // the article says, and only what people answered is noted.
    await caughtUp(content, "content-ops-resolved-questions")
    await caughtUp(content, "content-ops-articles")
    const contentEvents = await content.everything()
    const noted = ofType(contentEvents, "ResolvedQuestionNoted").map(
      (e) => (e.payload as { ticketId: string }).ticketId,
    )
    expect(noted).toEqual(asked)
    expect(ofType(contentEvents, "FrequentQuestionFound")).toHaveLength(1)
    expect(ofType(contentEvents, "KnowledgeArticleProposed")).toHaveLength(1)
    await caughtUp(shop, "customer-ops-proposed-knowledge")
    expect(proposalDrafts(await shop.everything())).toHaveLength(1)
    // The FAQ's events customer ops reads past are known to it, not taken for a newer writer's.
    expect((await reactorOf(shop.url, "customer-ops-proposed-knowledge"))?.skipped).toEqual({})
  })
})
