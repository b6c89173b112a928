import { createHash } from "node:crypto"
import {
  KnowledgeApproved,
  KnowledgeDrafted,
  KnowledgeRefused,
  KnowledgeRetired,
  type KnowledgeSource,
  type TicketIntent,
} from "@mesh/contracts"
import type { DecidedEvent, Decider } from "@mesh/kernel/deciders"

/** The events of a knowledge-base article, the customer domain's `knowledge` aggregate. */
export const knowledgeEvents = [
  KnowledgeDrafted,
  KnowledgeApproved,
  KnowledgeRefused,
  KnowledgeRetired,
] as const

/** An article's events, as its decider emits them. */
export type KnowledgeEvent = DecidedEvent<(typeof knowledgeEvents)[number]>

/**
 * The article a person's answer becomes: one per answer within a tenant, whichever ticket it answered.
 * The owner who answers the same question the same way on five tickets approves one article, not
 * five near-copies that would crowd each other out of every recall. Case and spacing do not count.
 */
export const articleIdOfAnswer = (tenantId: string, answer: string): string =>
  `kb-${createHash("sha256")
    .update(`${tenantId}\u0000${answer.replace(/\s+/g, " ").trim().toLowerCase()}`)
    .digest("hex")
    .slice(0, 24)}`

/** The article of an imported text: the same title in the same tenant is the same article, a new version of it. */
export const articleIdOfTitle = (tenantId: string, title: string): string =>
  `kb-${createHash("sha256").update(`${tenantId}\u0000${title.trim().toLowerCase()}`).digest("hex").slice(0, 24)}`

/** The publish action of an article's version, which a person approves. */
export const publishActionId = (articleId: string, version: number): string =>
  `publish-${articleId}-v${version}`

/** The article and version a publish action names, or null for another action. */
export const publishTarget = (
  actionId: string,
): { readonly articleId: string; readonly version: number } | null => {
  const match = /^publish-(kb-[A-Za-z0-9-]+)-v(\d+)$/.exec(actionId)
  return match === null ? null : { articleId: match[1] ?? "", version: Number(match[2]) }
}

/** The commands of an article. */
export type KnowledgeCommand =
  | {
      readonly _tag: "DraftKnowledge"
      /** The article's own id (the aggregate's), which names its publish actions. */
      readonly articleId: string
      readonly tenantId: string
      readonly title: string
      readonly body: string
      readonly intent: typeof TicketIntent.Type
      readonly source: typeof KnowledgeSource.Type
    }
  | { readonly _tag: "ApproveKnowledge"; readonly version: number }
  | {
      readonly _tag: "RefuseKnowledge"
      readonly version: number
      readonly reason: string
      readonly findings: ReadonlyArray<string>
    }
  | { readonly _tag: "RetireKnowledge"; readonly reason: string }

interface Draft {
  readonly version: number
  readonly title: string
  readonly body: string
  readonly intent: typeof TicketIntent.Type
  readonly actionId: string
  readonly status: "pending" | "approved" | "refused"
}

/** An article: none yet, or its tenant, its versions (the latest pending one, if any) and whether it is retired. */
export type KnowledgeState =
  | { readonly status: "none" }
  | {
      readonly status: "live" | "retired"
      readonly tenantId: string
      readonly drafts: ReadonlyArray<Draft>
      readonly approvedVersion: number | null
      /** The latest version when the article was retired: none up to it may be approved again. */
      readonly retiredAtVersion: number | null
    }

const withDraft = (
  state: Exclude<KnowledgeState, { status: "none" }>,
  version: number,
  status: Draft["status"],
) => ({
  ...state,
  drafts: state.drafts.map((d) => (d.version === version ? { ...d, status } : d)),
})

/**
 * The knowledge decider. A draft is a new version; only a version a person approved (through its
 * publish action) becomes citable, and approving it replaces the version before. An older version
 * than the approved one, or one drafted before the article was retired, is refused when approved; a
 * version drafted after the retirement brings the article back. Drafting the same text again is a
 * no-op, so a redelivered proposal drafts once; so is a person's answer given again to another
 * ticket's question (its title is that question), since its article is keyed by the answer.
 */
export const knowledgeDecider: Decider<KnowledgeCommand, KnowledgeEvent, KnowledgeState> = {
  initialState: () => ({ status: "none" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "KnowledgeDrafted": {
        const base =
          state.status === "none"
            ? {
                status: "live" as const,
                tenantId: event.payload.tenantId,
                drafts: [],
                approvedVersion: null,
                retiredAtVersion: null,
              }
            : state
        const { version, title, body, intent, actionId } = event.payload
        return {
          ...base,
          drafts: [...base.drafts, { version, title, body, intent, actionId, status: "pending" }],
        }
      }
      case "KnowledgeApproved":
        // A version drafted after the retirement, approved, brings the article back.
        return state.status === "none"
          ? state
          : {
              ...withDraft(state, event.payload.version, "approved"),
              status: "live",
              approvedVersion: event.payload.version,
            }
      case "KnowledgeRefused":
        return state.status === "none" ? state : withDraft(state, event.payload.version, "refused")
      case "KnowledgeRetired":
        return state.status === "none"
          ? state
          : { ...state, status: "retired", retiredAtVersion: state.drafts.at(-1)?.version ?? 0 }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "DraftKnowledge": {
        const latest = state.status === "none" ? undefined : state.drafts.at(-1)
        // The same text again drafts nothing, unless the article was retired: then it may come back.
        if (
          state.status === "live" &&
          latest !== undefined &&
          latest.body === command.body &&
          (latest.title === command.title || command.source._tag === "Ticket")
        )
          return []
        const version = (latest?.version ?? 0) + 1
        const { _tag, articleId, ...payload } = command
        return [
          {
            type: "KnowledgeDrafted",
            payload: { ...payload, version, actionId: publishActionId(articleId, version) },
          },
        ]
      }
      case "ApproveKnowledge": {
        if (state.status === "none") throw new TypeError("the article does not exist")
        const draft = state.drafts.find((d) => d.version === command.version)
        if (draft === undefined) throw new TypeError(`the article has no version ${command.version}`)
        if (draft.status !== "pending") return []
        // An approval that would put back older text, or text the shop retired, is refused with the
        // reason, so its draft never waits for good.
        const refusal =
          state.approvedVersion !== null && draft.version < state.approvedVersion
            ? `superseded: version ${state.approvedVersion} is approved`
            : state.retiredAtVersion !== null && draft.version <= state.retiredAtVersion
              ? "the article was retired after this version was drafted"
              : null
        if (refusal !== null)
          return [
            {
              type: "KnowledgeRefused",
              payload: { version: draft.version, reason: refusal, findings: ["stale-version"] },
            },
          ]
        return [
          {
            type: "KnowledgeApproved",
            payload: {
              tenantId: state.tenantId,
              version: draft.version,
              title: draft.title,
              body: draft.body,
              intent: draft.intent,
              actionId: draft.actionId,
            },
          },
        ]
      }
      case "RefuseKnowledge": {
        if (state.status === "none") throw new TypeError("the article does not exist")
        const draft = state.drafts.find((d) => d.version === command.version)
        if (draft === undefined || draft.status !== "pending") return []
        return [
          {
            type: "KnowledgeRefused",
            payload: { version: command.version, reason: command.reason, findings: [...command.findings] },
          },
        ]
      }
      case "RetireKnowledge":
        return state.status === "live"
          ? [{ type: "KnowledgeRetired", payload: { reason: command.reason } }]
          : []
    }
  },
}
