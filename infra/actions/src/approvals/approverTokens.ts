import { createHash } from "node:crypto"
import { Config, ConfigProvider, Context, Effect, Layer, Redacted, Result } from "effect"

/**
 * Parses `MESH_APPROVER_TOKENS`, `identity=token` pairs separated by commas, into a map from token
 * to identity. A malformed entry is named by its position, never by its token.
 */
export const parseApproverTokens = (value: string): Result.Result<ReadonlyMap<string, string>, string> => {
  const tokens = new Map<string, string>()
  for (const [index, entry] of value.split(",").entries()) {
    const trimmed = entry.trim()
    if (trimmed === "") continue
    const at = trimmed.indexOf("=")
    const identity = trimmed.slice(0, at).trim()
    const token = trimmed.slice(at + 1).trim()
    if (at <= 0 || identity === "" || token.length < 16) {
      return Result.fail(
        `MESH_APPROVER_TOKENS entry ${index + 1} must be identity=token with a token of at least 16 characters`,
      )
    }
    tokens.set(token, identity)
  }
  return tokens.size === 0
    ? Result.fail("MESH_APPROVER_TOKENS names no approver (identity=token, …)")
    : Result.succeed(tokens)
}

/** The approver tokens from `MESH_APPROVER_TOKENS` (a secret: kept redacted until parsed). */
export const approverTokensConfig: Config.Config<ReadonlyMap<string, string>> = Config.Redacted(
  "MESH_APPROVER_TOKENS",
).pipe(
  Config.flatMap((secret) => {
    const parsed = parseApproverTokens(Redacted.value(secret))
    return Result.isSuccess(parsed)
      ? Config.succeed(parsed.success)
      : Config.fail(new ConfigProvider.SourceError({ message: parsed.failure }))
  }),
)

/** What the approver tokens offer: the identity a bearer token stands for. */
export interface ApproverTokensShape {
  /** The approver a token belongs to, or undefined for a token of no one. */
  readonly identityOf: (token: Redacted.Redacted<string>) => string | undefined
}

const digestOf = (token: string) => createHash("sha256").update(token).digest("hex")

// Tokens are kept and looked up by their SHA-256 digest: the process holds no token after
// start-up, and how long a lookup takes says nothing about how much of a guess was right.
const makeApproverTokens = (tokens: ReadonlyMap<string, string>): ApproverTokensShape => {
  const byDigest = new Map([...tokens].map(([token, identity]) => [digestOf(token), identity]))
  return { identityOf: (token) => byDigest.get(digestOf(Redacted.value(token))) }
}

/** Who may decide over the approvals API: bearer tokens and the identity each one stands for. */
export class ApproverTokens extends Context.Service<ApproverTokens, ApproverTokensShape>()(
  "mesh/ApproverTokens",
) {
  /** Fixed tokens (tests): a map from token to identity. */
  static readonly layer = (tokens: ReadonlyMap<string, string>) =>
    Layer.succeed(ApproverTokens, makeApproverTokens(tokens))

  /** The tokens of `MESH_APPROVER_TOKENS`; a missing or malformed value stops start-up naming it. */
  static readonly layerFromConfig = Layer.effect(
    ApproverTokens,
    Effect.gen(function* () {
      return makeApproverTokens(yield* approverTokensConfig)
    }),
  )
}
