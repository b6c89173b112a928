import { readFileSync } from "node:fs"
import { join } from "node:path"
import { type ActionPolicy, decodePolicyJson } from "@mesh/actions"
import { type Domain, domains, type EventOf, meshCatalog, Subjects } from "@mesh/contracts"
import { type EventLog, makeEventLog, type NatsHandles } from "@mesh/eventlog"
import {
  type DecisionPayload,
  invocationFromPayload,
  ModelProvider,
  type ModelProviderShape,
  makeOfflineProvider,
  recallSkill,
  recordedInput,
  runSkillWith,
  type SkillInvocation,
  storedHashes,
} from "@mesh/models"
import { findRepoRoot } from "@mesh/stack"
import { Objm } from "@nats-io/obj"
import { Console, Effect, type Option, Result, Stream } from "effect"
import { diffPolicies, type PolicyChange, type RecordedRequest } from "../diff/policyDiff.ts"
import { answerOf, differingFields, type SkillChange } from "../diff/skillDiff.ts"
import { latestSkills, meshSkills, skillVersion } from "../diff/skills.ts"
import { meshError } from "../errors.ts"
import { meshAggregates } from "../replay/aggregates.ts"
import { failedTo, isStreamNotFound, namespaceOf, scopedNatsTarget } from "./nats.ts"

type MeshEvent = EventOf<(typeof meshCatalog)["definitions"][number]>

/** Something in the recorded history the current code cannot read, fold or re-run. */
export interface Incompatibility {
  readonly stream: string
  readonly sequence: number
  readonly what: string
  readonly message: string
}

const agentsWithPolicies = ["customer-ops", "procurement", "content-ops"] as const

/** The action policies the agents ship in this checkout: what a deploy of it would run. */
const shippedPolicyFiles = (): ReadonlyArray<string> =>
  agentsWithPolicies.map((agent) => join(findRepoRoot(), "services", agent, "policy", "actions.json"))

const readPolicy = (file: string) =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (cause) =>
        meshError({ _tag: "BadInput", message: `cannot read policy ${file}: ${String(cause)}` }),
    })
    const decoded = decodePolicyJson(text, file)
    if (Result.isFailure(decoded))
      return yield* meshError({ _tag: "BadInput", message: decoded.failure.message })
    return decoded.success
  })

/** `name`, `name@3` or `all`: the skill versions to re-run decisions through. */
const resolveSkills = (asked: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const chosen = new Map<string, (typeof meshSkills)[number]>()
    for (const text of asked) {
      if (text === "all") {
        for (const [name, skill] of latestSkills) chosen.set(name, skill)
        continue
      }
      const match = /^([A-Za-z][A-Za-z0-9]*)(?:@v?(\d+))?$/.exec(text)
      const skill =
        match === null
          ? undefined
          : match[2] === undefined
            ? latestSkills.get(match[1]!)
            : skillVersion(match[1]!, Number(match[2]))
      if (skill === undefined)
        return yield* meshError({
          _tag: "BadInput",
          message: `--skill ${text} names no skill version the agents ship; one of all, ${meshSkills.map((s) => s.id).join(", ")} (a name alone is its latest version)`,
        })
      chosen.set(skill.name, skill)
    }
    return chosen
  })

/** Every commit of a domain's stream up to its head when the diff began, decoded and upcast. */
const readDomain = (log: EventLog<(typeof meshCatalog)["definitions"][number]>, domain: Domain) =>
  Effect.gen(function* () {
    const head = yield* log.headSequence(domain).pipe(Effect.orElseSucceed(() => 0))
    if (head === 0) return Stream.empty
    return log.readRange(domain, { fromSequence: 1, toSequence: head })
  }).pipe(Stream.unwrap)

/** The content of decisions kept by reference, by hash; null for a hash the store does not hold. */
const contentStore = (nats: NatsHandles, namespace: string) =>
  Effect.gen(function* () {
    const bucket = Subjects.decisionContentBucket(namespace)
    const store = yield* Effect.tryPromise(() => new Objm(nats.js).open(bucket)).pipe(
      Effect.orElseSucceed(() => null),
    )
    return (hashes: ReadonlyArray<string>) =>
      Effect.forEach(
        hashes,
        (sha256) =>
          store === null
            ? Effect.succeed([sha256, null] as const)
            : Effect.tryPromise(() => store.getBlob(sha256)).pipe(
                Effect.map((bytes) => [sha256, bytes] as const),
                failedTo(`read decision content ${sha256} from ${bucket}`),
              ),
        { concurrency: 8 },
      ).pipe(Effect.map((entries) => new Map<string, Uint8Array | null>(entries)))
  })

const describeContentIssue = (issue: {
  readonly _tag: string
  readonly sha256?: string
  readonly message?: string
}) =>
  issue._tag === "InvalidRecord"
    ? `the record does not read: ${issue.message}`
    : `${issue._tag} ${issue.sha256 ?? ""}${issue.message === undefined ? "" : `: ${issue.message}`}`

const modeLine = (change: PolicyChange): string =>
  `#${change.sequence} ${change.agent} ${change.kind} ${change.actionId}: ${change.recorded.mode} (${change.recorded.rule}, v${change.recorded.version}) → ${change.candidate.mode} (${change.candidate.rule}, v${change.candidate.version}); it ${change.outcome}\n      ${change.candidate.reason}`

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

const fieldValue = (output: unknown, field: string): string =>
  field === "outcome" || field === "output"
    ? clip(JSON.stringify(output), 160)
    : field in ((output as object | null) ?? {})
      ? clip(JSON.stringify((output as Record<string, unknown>)[field]), 160)
      : "(absent)"

/**
 * `mesh diff`: recorded history through the current code. Every recorded action request is weighed
 * again by the candidate policies (`--policy`, else the policies this checkout ships), recorded
 * decisions are re-run through the skill versions asked for (`--skill`), and with `--check` every
 * event is decoded, upcast and folded through the current deciders and every decision read back
 * through its skill's current version. It reports where decisions diverge from what happened; it
 * appends nothing and calls no connector.
 */
export const diff = (args: {
  readonly policy: ReadonlyArray<string>
  readonly skill: ReadonlyArray<string>
  readonly provider: "offline" | "config"
  readonly check: boolean
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const policyFiles = args.policy.length === 0 ? shippedPolicyFiles() : args.policy
    const policies: Array<ActionPolicy> = []
    for (const file of policyFiles) policies.push(yield* readPolicy(file))
    const skills = yield* resolveSkills(args.skill)
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const incompatible: Array<Incompatibility> = []

    // Every stream read once: the action requests, the decisions, and (for --check) every fold.
    const aggregates = new Map(meshAggregates.map((a) => [`${a.domain}:${a.type}`, a]))
    const requests: Array<Omit<RecordedRequest, "outcome">> = []
    const lastOfAction = new Map<string, string>()
    const decisions: Array<{ sequence: number; event: MeshEvent }> = []
    const actionsOfDecision = new Map<string, Array<{ actionId: string; kind: string }>>()
    let events = 0
    for (const domain of domains) {
      if (!args.check && domain !== "actions" && domain !== "decisions") continue
      const stream = Subjects.streamName(namespace, domain)
      const states = new Map<string, unknown>()
      yield* readDomain(log, domain).pipe(
        Stream.runForEach((commit) =>
          Effect.sync(() => {
            for (const type of commit.unknownTypes)
              incompatible.push({
                stream,
                sequence: commit.sequence,
                what: type,
                message: `event type ${type} is not in this build's catalogue: readers would skip it`,
              })
            for (const event of commit.events as ReadonlyArray<MeshEvent>) {
              events += 1
              if (domain === "actions" && event.type === "ActionRequested") {
                const p = event.payload
                requests.push({
                  sequence: commit.sequence,
                  actionId: p.actionId,
                  agent: p.agent,
                  skill: p.skill,
                  kind: p.kind,
                  policy: p.policy,
                  requestedAt: p.requestedAt,
                  correlationId: event.correlationId,
                })
                if (p.cause.decisionId !== null) {
                  const list = actionsOfDecision.get(p.cause.decisionId) ?? []
                  list.push({ actionId: p.actionId, kind: p.kind })
                  actionsOfDecision.set(p.cause.decisionId, list)
                }
              }
              if (domain === "actions")
                lastOfAction.set(`${event.aggregateType}/${event.aggregateId}`, event.type)
              if (domain === "decisions" && event.type === "DecisionRecorded")
                decisions.push({ sequence: commit.sequence, event })
              if (!args.check) continue
              const key = `${event.aggregateType}/${event.aggregateId}`
              const aggregate = aggregates.get(`${domain}:${event.aggregateType}`)
              if (aggregate === undefined) continue
              try {
                const before = states.has(key) ? states.get(key) : aggregate.decider.initialState()
                states.set(key, aggregate.decider.evolve(before, event as never))
              } catch (cause) {
                incompatible.push({
                  stream,
                  sequence: commit.sequence,
                  what: `${event.type} of ${key}`,
                  message: `the ${event.aggregateType} decider cannot fold it: ${cause instanceof Error ? cause.message : String(cause)}`,
                })
              }
            }
          }),
        ),
        Effect.catch((error) =>
          Effect.sync(() => {
            // A commit that does not decode ends the read of its stream; it is the first incompatibility there.
            if (isStreamNotFound(error)) return
            incompatible.push({ stream, sequence: 0, what: "stream", message: error.message })
          }),
        ),
      )
    }

    const policyDiff = diffPolicies(
      policies,
      requests.map((r) => ({ ...r, outcome: describeOutcome(lastOfAction.get(`${r.agent}/${r.actionId}`)) })),
    )

    // Decisions: read back through each skill's current version (--check) and re-run (--skill).
    const fetch = yield* contentStore(nats, namespace)
    const skillChanges: Array<SkillChange> = []
    const rerun = { decisions: 0, runs: 0, unchanged: 0, hashOnly: 0 }
    const provider: ModelProviderShape =
      skills.size === 0 || args.provider === "offline"
        ? makeOfflineProvider()
        : yield* Effect.provide(
            Effect.gen(function* () {
              return yield* ModelProvider
            }),
            ModelProvider.layerFromConfig,
          ).pipe(Effect.mapError((cause) => meshError({ _tag: "ModelUnreachable", cause })))
    const answers = new Map<string, SkillInvocation>()
    const decisionsStream = Subjects.streamName(namespace, "decisions")
    for (const { sequence, event } of decisions) {
      if (event.type !== "DecisionRecorded") continue
      const payload = event.payload as DecisionPayload
      const candidate = skills.get(payload.skill)
      if (!args.check && candidate === undefined) continue
      const stored = yield* fetch(storedHashes(payload))
      const read = invocationFromPayload(payload, stored)
      const at = (what: string, message: string) =>
        incompatible.push({
          stream: decisionsStream,
          sequence,
          what: `${payload.decisionId} (${what})`,
          message,
        })
      if (Result.isFailure(read)) {
        // Content kept as its hash only (a privacy policy, or redacted on export) cannot be read back
        // or re-run; that is a choice made for it, not something this build fails to read.
        if (read.failure._tag === "ContentNotRecorded") rerun.hashOnly += 1
        else at(payload.skill, describeContentIssue(read.failure))
        continue
      }
      const invocation = read.success
      if (args.check) {
        const latest = latestSkills.get(payload.skill)
        if (latest === undefined) at(payload.skill, `no agent ships skill ${payload.skill} any more`)
        else {
          const recalled = yield* Effect.result(recallSkill(latest, invocation))
          if (Result.isFailure(recalled)) at(latest.id, recalled.failure.message)
          if (invocation.input !== null) {
            const input = yield* Effect.result(recordedInput(latest, invocation))
            if (Result.isFailure(input)) at(latest.id, input.failure.message)
          }
        }
      }
      if (candidate === undefined) continue
      rerun.decisions += 1
      const input = yield* Effect.result(recordedInput(candidate, invocation))
      if (Result.isFailure(input)) {
        at(candidate.id, input.failure.message)
        continue
      }
      // One run per distinct input: the offline model answers the same input the same way, and a model
      // asked twice would cost twice.
      const inputKey = `${candidate.id}:${JSON.stringify(invocation.input)}`
      let answered = answers.get(inputKey)
      if (answered === undefined) {
        const run = yield* runSkillWith(provider, candidate, input.success)
        answered = run.invocation
        answers.set(inputKey, answered)
        rerun.runs += 1
      }
      const recorded = answerOf(invocation)
      const now = answerOf(answered)
      const fields = differingFields(recorded, now)
      if (fields.length === 0) {
        rerun.unchanged += 1
        continue
      }
      skillChanges.push({
        sequence,
        decisionId: payload.decisionId,
        agent: payload.agent,
        skill: payload.skill,
        correlationId: event.correlationId,
        fields,
        recorded,
        candidate: now,
        actions: actionsOfDecision.get(payload.decisionId) ?? [],
      })
    }

    const firstDivergent = [...policyDiff.changes.map((c) => c.sequence)].sort((a, b) => a - b)[0] ?? null
    const firstSkillDivergent = skillChanges[0]?.sequence ?? null
    const summary = {
      namespace,
      events,
      policies: policies.map((p) => `${p.workflow} v${p.version}`),
      actionRequests: requests.length,
      examined: policyDiff.examined,
      uncovered: policyDiff.uncovered,
      policyChanges: policyDiff.changes.length,
      transitions: policyDiff.transitions,
      sameVerdictOtherRule: policyDiff.otherRule,
      unweighable: policyDiff.unweighable,
      firstDivergentAction: firstDivergent,
      skills: [...skills.values()].map((s) => `${s.id} (${s.promptVersion})`),
      decisionsRerun: rerun.decisions,
      decisionsHashOnly: rerun.hashOnly,
      modelRuns: rerun.runs,
      skillChanges: skillChanges.length,
      firstDivergentDecision: firstSkillDivergent,
      checked: args.check,
      incompatible: incompatible.length,
    }
    if (args.json) {
      for (const change of policyDiff.changes)
        yield* Console.log(JSON.stringify({ ...change, kind: "policy", actionKind: change.kind }))
      for (const change of skillChanges) yield* Console.log(JSON.stringify({ kind: "skill", ...change }))
      for (const issue of incompatible) yield* Console.log(JSON.stringify({ kind: "incompatible", ...issue }))
      yield* Console.log(JSON.stringify({ kind: "summary", ...summary }))
    } else {
      yield* Console.log(
        `Policies ${summary.policies.join(", ")} over ${requests.length} recorded action requests of namespace ${namespace}:`,
      )
      const examinedText = Object.entries(policyDiff.examined)
        .map(([w, n]) => `${w} ${n}`)
        .join(", ")
      yield* Console.log(`  weighed again: ${examinedText || "none"}`)
      for (const [workflow, n] of Object.entries(policyDiff.uncovered))
        yield* Console.log(`  not weighed: ${n} of workflow ${workflow} (no candidate policy for it)`)
      for (const u of policyDiff.unweighable)
        yield* Console.log(`  cannot weigh #${u.sequence} ${u.actionId}: ${u.reason}`)
      if (policyDiff.otherRule > 0)
        yield* Console.log(`  ${policyDiff.otherRule} verdicts stay the same, given by another rule`)
      if (policyDiff.changes.length === 0) yield* Console.log("  no verdict changes")
      else {
        yield* Console.log(
          `  ${policyDiff.changes.length} verdicts change (${Object.entries(policyDiff.transitions)
            .map(([t, n]) => `${t} ${n}`)
            .join(", ")}); the first at #${firstDivergent}:`,
        )
        for (const change of policyDiff.changes) yield* Console.log(`    ${modeLine(change)}`)
      }
      if (skills.size > 0) {
        yield* Console.log(
          `Skills ${summary.skills.join(", ")} on the inputs of ${rerun.decisions} recorded decisions (${rerun.runs} runs, ${args.provider === "offline" ? "offline model" : "configured models"}):`,
        )
        if (skillChanges.length === 0) yield* Console.log("  every answer is the same")
        else
          yield* Console.log(`  ${skillChanges.length} answers change; the first at #${firstSkillDivergent}:`)
        for (const change of skillChanges) {
          yield* Console.log(
            `    #${change.sequence} ${change.skill} ${change.decisionId} (${change.recorded.promptVersion} → ${change.candidate.promptVersion})${change.actions.length === 0 ? "" : `, which caused ${change.actions.map((a) => `${a.kind} ${a.actionId}`).join(", ")}`}`,
          )
          for (const field of change.fields)
            yield* Console.log(
              `      ${field}: ${fieldValue(field === "outcome" ? change.recorded.outcome : change.recorded.output, field)} → ${fieldValue(field === "outcome" ? change.candidate.outcome : change.candidate.output, field)}`,
            )
        }
      }
      if (args.check) {
        yield* Console.log(
          incompatible.length === 0
            ? `Compatibility: all ${events} events decode, upcast and fold through this build's deciders, and every recorded decision reads back through its skill's current version${rerun.hashOnly === 0 ? "" : ` (${rerun.hashOnly} kept as their hash only, not read)`}`
            : `Compatibility: ${incompatible.length} things this build cannot read:`,
        )
        for (const issue of incompatible)
          yield* Console.log(`  ${issue.stream} #${issue.sequence} ${issue.what}: ${issue.message}`)
      }
    }
    if (args.check && incompatible.length > 0)
      return yield* meshError({
        _tag: "Failed",
        message: `${incompatible.length} recorded events or decisions do not read, fold or re-run through this build (the first: ${incompatible[0]!.stream} #${incompatible[0]!.sequence} ${incompatible[0]!.what})`,
      })
  }).pipe(Effect.scoped)

/** What became of an action, as its last event says. */
const describeOutcome = (lastType: string | undefined): string => {
  switch (lastType) {
    case "ActionSucceeded":
      return "was executed"
    case "ActionDenied":
      return "was denied"
    case "ActionAwaitingApproval":
      return "is waiting for approval"
    case "ActionRejected":
      return "was rejected by a person"
    case "ActionExpired":
      return "expired unanswered"
    case "ActionParked":
      return "was parked for a person"
    case "ActionFailed":
      return "failed"
    case "ActionCompensated":
      return "was executed and compensated"
    case "ActionHumanNotified":
      return "was executed and a person notified"
    case undefined:
      return "has no later event"
    default:
      return `ended at ${lastType}`
  }
}
