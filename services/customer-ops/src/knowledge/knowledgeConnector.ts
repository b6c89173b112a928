import { type Connector, ConnectorError } from "@mesh/actions"
import { Effect } from "effect"

/**
 * Publishing a knowledge-base article is an action like any other, so that a person approves its
 * exact text through the approvals API (or `mesh approve`), with its deadline, audit and refusal of
 * self-approval. Its system is the agent's own knowledge base: executing it only confirms the
 * version; the approval, recorded on the action, is what the article's `KnowledgeApproved` follows.
 */
export const knowledgeConnector: Connector = {
  system: "knowledge",
  kinds: ["knowledge.publish"],
  execute: (call) => {
    const { articleId, version } = call.parameters
    if (typeof articleId !== "string" || typeof version !== "number")
      return Effect.fail(
        new ConnectorError({
          system: "knowledge",
          kind: call.kind,
          key: call.key,
          reason: {
            _tag: "Rejected",
            code: "invalid_request",
            message: "a publish needs articleId and version",
          },
        }),
      )
    return Effect.succeed({ externalRef: `${articleId}@v${version}`, result: { articleId, version } })
  },
  // Publishing is deterministic in its parameters: whether it ran before, the receipt is the same.
  lookup: (call) =>
    Effect.succeed(
      typeof call.parameters.articleId === "string" && typeof call.parameters.version === "number"
        ? {
            externalRef: `${call.parameters.articleId}@v${call.parameters.version}`,
            result: { articleId: call.parameters.articleId, version: call.parameters.version },
          }
        : undefined,
    ),
  compensate: (call) =>
    Effect.fail(
      new ConnectorError({
        system: "knowledge",
        kind: call.kind,
        key: call.key,
        reason: {
          _tag: "UnknownKind",
          message: "an article is withdrawn by retiring it, not by undoing its publish",
        },
      }),
    ),
}
