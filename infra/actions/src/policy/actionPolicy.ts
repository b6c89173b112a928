import { readFileSync } from "node:fs"
import { ActionKindName, Money, NonEmpty, PolicyMode, Score, Sentiment } from "@mesh/contracts"
import { Config, ConfigProvider, Duration, Option, Result, Schema, SchemaTransformation } from "effect"

// An action policy is data: a JSON document in a service's config, versioned, decoded once at
// start-up. Decoding is strict (an unknown key is an error, not ignored) because a misspelt
// condition would silently change what the policy lets through.

/** How strict each mode is: auto < notify < require-approval < deny. */
export const policyModeRank: Readonly<Record<PolicyMode, number>> = {
  auto: 0,
  notify: 1,
  "require-approval": 2,
  deny: 3,
}

/** The stricter of two modes (the first when they are equal). */
export const stricterMode = (a: PolicyMode, b: PolicyMode): PolicyMode =>
  policyModeRank[b] > policyModeRank[a] ? b : a

const ttlMessage = "must be a positive whole number of milliseconds or an ISO-8601 duration such as PT24H"
const PositiveMillis = Schema.Int.check(Schema.isGreaterThan(0, { message: ttlMessage }))
const isoMillis = (text: string): number | undefined => {
  const duration = Duration.fromIso(text)
  return Option.isSome(duration) ? Duration.toMillis(duration.value) : undefined
}
const IsoDuration = Schema.String.check(
  Schema.makeFilter((text: string) => {
    const ms = isoMillis(text)
    return ms !== undefined && Number.isSafeInteger(ms) && ms > 0 ? undefined : ttlMessage
  }),
)

/** How long an approval stays open: milliseconds or an ISO-8601 duration in JSON, milliseconds once decoded. */
export const ApprovalTtl = Schema.Union([PositiveMillis, IsoDuration]).pipe(
  Schema.decodeTo(
    PositiveMillis,
    SchemaTransformation.transform<number, number | string>({
      decode: (value: number | string) => (typeof value === "number" ? value : (isoMillis(value) ?? 0)),
      encode: (ms: number) => ms,
    }),
  ),
)

/** A rule's id: lowercase words joined by '-', recorded as the verdict's rule. */
export const PolicyRuleId = Schema.String.check(
  Schema.isPattern(/^[a-z0-9][a-z0-9-]{0,63}$/, {
    message: "must be lowercase letters, digits and '-' (at most 64), e.g. over-500-eur",
  }),
)

/** When a rule applies: every stated condition must hold (an unknown input counts as holding). */
export const PolicyCondition = Schema.Struct({
  /** The action's amount is at least this (same currency). */
  amountAtLeast: Schema.optionalKey(Money),
  /** The model's confidence is below this. */
  confidenceBelow: Schema.optionalKey(Score),
  /** The customer's sentiment is one of these. */
  sentimentIn: Schema.optionalKey(Schema.Array(Sentiment).check(Schema.isMinLength(1))),
  /** The supplier is (true) or is not (false) a first-time supplier. */
  firstTimeSupplier: Schema.optionalKey(Schema.Boolean),
}).check(
  Schema.makeFilter((when) =>
    Object.keys(when).length > 0
      ? undefined
      : "must state at least one condition (to apply always, set the kind's mode instead)",
  ),
)
/** When a rule applies. */
export type PolicyCondition = typeof PolicyCondition.Type

/** A rule of an action kind: when its condition holds, the action gets at least its mode. */
export const PolicyRule = Schema.Struct({ id: PolicyRuleId, when: PolicyCondition, mode: PolicyMode })
/** A rule of an action kind. */
export type PolicyRule = typeof PolicyRule.Type

/** The policy of one action kind: its base mode and the rules that can make it stricter. */
export const KindPolicy = Schema.Struct({
  mode: PolicyMode,
  rules: Schema.Array(PolicyRule),
  /** The people who decide this kind when it waits for approval (approver identities); absent, any approver. */
  approvers: Schema.optionalKey(Schema.Array(NonEmpty).check(Schema.isMinLength(1))),
})
/** The policy of one action kind. */
export type KindPolicy = typeof KindPolicy.Type

/** Limits per agent: actions in any hour, and spend in any 24 hours (in one currency). */
export const PolicyQuotas = Schema.Struct({
  actionsPerHour: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  spendPerDay: Schema.optionalKey(Money),
})
/** Limits per agent. */
export type PolicyQuotas = typeof PolicyQuotas.Type

const isKindName = Schema.is(ActionKindName)
const kindNameMessage = "is not an action kind name: <system>.<operation> in lowercase, e.g. payment.refund"

const checkPolicy = Schema.makeFilter(
  (policy: {
    readonly kinds: { readonly [kind: string]: KindPolicy }
    readonly skills: { readonly [skill: string]: ReadonlyArray<string> }
  }) => {
    const issues: Array<Schema.FilterIssue> = []
    const ruleIds = new Map<string, string>()
    for (const [kind, kindPolicy] of Object.entries(policy.kinds)) {
      if (!isKindName(kind)) issues.push({ path: ["kinds", kind], issue: `${kind} ${kindNameMessage}` })
      kindPolicy.rules.forEach((rule, index) => {
        const path = ["kinds", kind, "rules", index, "id"]
        const earlier = ruleIds.get(rule.id)
        if (earlier !== undefined) {
          issues.push({ path, issue: `rule id ${rule.id} is already used by a rule of ${earlier}` })
        }
        ruleIds.set(rule.id, kind)
        if (rule.id === "default" || rule.id === "allow-list") {
          issues.push({
            path,
            issue: `rule id ${rule.id} is reserved for the verdicts the gate gives itself`,
          })
        }
        if (policyModeRank[rule.mode] <= policyModeRank[kindPolicy.mode]) {
          issues.push({
            path: ["kinds", kind, "rules", index, "mode"],
            issue:
              `rule ${rule.id} can never change a verdict: ${rule.mode} is not stricter than the kind's ` +
              `mode ${kindPolicy.mode} (rules only tighten; lower the kind's mode and tighten with rules)`,
          })
        }
      })
    }
    for (const [skill, kinds] of Object.entries(policy.skills)) {
      kinds.forEach((kind, index) => {
        if (!isKindName(kind))
          issues.push({ path: ["skills", skill, index], issue: `${kind} ${kindNameMessage}` })
      })
    }
    return issues
  },
)

/**
 * A workflow's action policy: per action kind a mode (`auto`, `notify`, `require-approval`, `deny`)
 * with rules that tighten it, per-agent quotas, and per skill the action kinds it may request.
 * In JSON `approvalTtl` is milliseconds or an ISO-8601 duration; decoded it is `approvalTtlMs`.
 */
export const ActionPolicy = Schema.Struct({
  workflow: NonEmpty,
  version: NonEmpty,
  approvalTtlMs: ApprovalTtl,
  /** The mode of an action kind the policy does not list. */
  defaultMode: PolicyMode,
  kinds: Schema.Record(Schema.String, KindPolicy),
  quotas: PolicyQuotas,
  /** The allow-list: per skill name, the only action kinds it may request. */
  skills: Schema.Record(NonEmpty, Schema.Array(Schema.String)),
})
  .check(checkPolicy)
  .pipe(Schema.encodeKeys({ approvalTtlMs: "approvalTtl" }))
/** A decoded action policy. */
export type ActionPolicy = typeof ActionPolicy.Type
/** An action policy as written in JSON. */
export type ActionPolicyDocument = typeof ActionPolicy.Encoded

/** An action policy document that does not decode; the message names every bad field. */
export class PolicyDocumentError extends Schema.TaggedError<PolicyDocumentError>()("PolicyDocumentError", {
  /** Where the document came from (a file name, a config key). */
  source: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `invalid action policy ${this.source}: ${this.detail}`
  }
}

const decodeDocument = Schema.decodeUnknownResult(ActionPolicy, { errors: "all", onExcessProperty: "error" })

/** Decodes a parsed policy document strictly (unknown keys are errors), reporting every bad field. */
export const decodePolicy = (
  input: unknown,
  source = "(unnamed)",
): Result.Result<ActionPolicy, PolicyDocumentError> =>
  Result.mapError(
    decodeDocument(input),
    (error) => new PolicyDocumentError({ source, detail: error.message }),
  )

/** Parses and decodes a policy document from JSON text. */
export const decodePolicyJson = (
  text: string,
  source = "(unnamed)",
): Result.Result<ActionPolicy, PolicyDocumentError> => {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (cause) {
    const detail = `not JSON: ${cause instanceof Error ? cause.message : String(cause)}`
    return Result.fail(new PolicyDocumentError({ source, detail }))
  }
  return decodePolicy(input, source)
}

/** The instant an approval requested at `requestedAt` (ISO) expires under a policy. */
export const approvalExpiresAt = (policy: ActionPolicy, requestedAt: string): string => {
  const at = Date.parse(requestedAt)
  if (Number.isNaN(at))
    throw new TypeError(`requestedAt ${JSON.stringify(requestedAt)} is not an ISO instant`)
  return new Date(at + policy.approvalTtlMs).toISOString()
}

/**
 * An agent's action policy as a setting: the file `variable` names, else the agent's own `fallback`
 * file. A file that cannot be read or decoded fails the start, naming the variable, the file and the field.
 */
export const actionPolicyConfig = (variable: string, fallback: URL): Config.Config<ActionPolicy> =>
  Config.String(variable).pipe(
    Config.withDefault(""),
    Config.flatMap((path) => {
      const source = path.trim() === "" ? fallback : path.trim()
      let text: string
      try {
        text = readFileSync(source, "utf8")
      } catch (cause) {
        return Config.fail(
          new ConfigProvider.SourceError({
            message: `${variable}: cannot read ${String(source)}: ${(cause as Error).message}`,
          }),
        )
      }
      const decoded = decodePolicyJson(text, String(source))
      return Result.isSuccess(decoded)
        ? Config.succeed(decoded.success)
        : Config.fail(new ConfigProvider.SourceError({ message: `${variable}: ${decoded.failure.message}` }))
    }),
  )
