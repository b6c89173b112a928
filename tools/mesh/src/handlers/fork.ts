import { meshCatalog, Subjects } from "@mesh/contracts"
import { makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { deterministicUuid, makeRequestLog } from "@mesh/kernel"
import { Clock, Console, Effect, Option, Result, Stream } from "effect"
import { meshError } from "../errors.ts"
import { cutAt, type ForkInput, replaceAt } from "../history/forkPoint.ts"
import { playHistory } from "./history.ts"
import { appendedLine, intoNamespace, type MeshRun, recordedHistory, runMeshOn } from "./meshRun.ts"
import { failedTo, isStreamNotFound, personDeciding, scopedNatsTarget } from "./nats.ts"

// A fork branches a recorded run at one event into a namespace of its own: the run as it was up to
// that event, then a new input in its place (or nothing), then the whole mesh carrying on from
// there. In dry mode every agent decides, requests and gates its actions, and executes none: the
// fork's log holds each action with its policy verdict, and the simulated outside world is never
// called. Promoting the fork starts its agents with their executors: each action held in the log is
// executed once, through the verdict the gate recorded, and those that wait for a person still
// wait for one (`mesh approve --namespace <fork>`).

/** The recorded requests that make a namespace a fork, and its promotions, in the requests stream. */
const forkAgent = "mesh"
const forkRequestName = "ForkRun"
const promoteRequestName = "PromoteFork"
const textEncoder = new TextEncoder()

/** One action of the fork, as its events left it. */
interface ForkAction {
  readonly actionId: string
  readonly agent: string
  readonly kind: string
  readonly verdict: string
  readonly rule: string
  /** requested, awaiting-approval, approved, retrying (unfinished); denied, rejected, expired, succeeded, failed, parked. */
  readonly status: string
  /** Whether it belongs to the fork's own chain (caused by the new input), not to work in flight. */
  readonly branch: boolean
  readonly attempts: number
  readonly successes: number
}

/** Where an action still has somewhere to go: requested or approved and not yet done, or waiting for a person. */
const unfinished = new Set(["requested", "approved", "awaiting-approval", "retrying"])

/**
 * The namespace's actions that were requested, or moved, at or after `sinceMs`, or that are still
 * unfinished, each folded to where its events left it: what a fork's run did and holds (work in
 * flight at the fork point included), and not the finished actions of the run it started from.
 */
const actionsOf = (nats: NatsHandles, namespace: string, sinceMs: number, branch: string) =>
  Effect.gen(function* () {
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const head = yield* log
      .headSequence("actions")
      .pipe(failedTo(`read the head of ${Subjects.streamName(namespace, "actions")}`))
    const actions = new Map<string, ForkAction>()
    const moved = new Set<string>()
    if (head === 0) return []
    yield* log.readRange("actions", { fromSequence: 1, toSequence: head }).pipe(
      Stream.runForEach((commit) =>
        Effect.sync(() => {
          for (const e of commit.events) {
            const id = e.aggregateId
            const was = actions.get(id)
            const p = e.payload as Record<string, unknown>
            if (Date.parse(e.occurredAt) >= sinceMs) moved.add(id)
            if (e.type === "ActionRequested") {
              const policy = p.policy as { verdict: { mode: string; rule: string } }
              actions.set(id, {
                actionId: String(p.actionId),
                agent: String(p.agent),
                kind: String(p.kind),
                verdict: policy.verdict.mode,
                rule: policy.verdict.rule,
                status: policy.verdict.mode === "deny" ? "denied" : "requested",
                branch: e.correlationId === branch,
                attempts: 0,
                successes: 0,
              })
              continue
            }
            if (was === undefined) continue
            const status: Record<string, string> = {
              ActionDenied: "denied",
              ActionAwaitingApproval: "awaiting-approval",
              ActionApproved: "approved",
              ActionRejected: "rejected",
              ActionExpired: "expired",
              ActionSucceeded: "succeeded",
              ActionFailed: "failed",
              ActionParked: "parked",
            }
            // A failed attempt with a retry to come is not the end of the action.
            const next = e.type === "ActionFailed" && p.next === "retry" ? "retrying" : status[e.type]
            actions.set(id, {
              ...was,
              status: next ?? was.status,
              attempts: was.attempts + (e.type === "ActionAttemptStarted" ? 1 : 0),
              successes: was.successes + (e.type === "ActionSucceeded" ? 1 : 0),
            })
          }
        }),
      ),
      failedTo(`read the actions of namespace ${namespace}`),
    )
    return [...actions.entries()]
      .filter(([id, action]) => moved.has(id) || unfinished.has(action.status))
      .map(([, action]) => action)
  })

/** The fork request recorded in a namespace, if it is a fork, and its promotions. */
const forkRecordOf = (nats: NatsHandles, namespace: string) =>
  Effect.gen(function* () {
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    // A namespace never declared holds no fork; any other failure to read it is the server's.
    const head = yield* log.headSequence("requests").pipe(
      Effect.catch((e) => (isStreamNotFound(e) ? Effect.succeed(0) : Effect.fail(e))),
      failedTo(`read the requests of namespace ${namespace}`),
    )
    let fork: { eventId: string; correlationId: string; occurredAt: string } | null = null
    let promotions = 0
    if (head === 0) return { fork, promotions }
    yield* log.readRange("requests", { fromSequence: 1, toSequence: head }).pipe(
      Stream.runForEach((commit) =>
        Effect.sync(() => {
          for (const e of commit.events) {
            if (e.type !== "RequestReceived" || e.aggregateType !== forkAgent) continue
            const p = e.payload as { name: string; body: unknown }
            if (p.name === forkRequestName)
              fork = { eventId: e.eventId, correlationId: e.correlationId, occurredAt: e.occurredAt }
            if (p.name === promoteRequestName) promotions += 1
          }
        }),
      ),
      failedTo(`read the requests of namespace ${namespace}`),
    )
    return { fork: fork as typeof fork, promotions }
  })

const describeActions = (actions: ReadonlyArray<ForkAction>) =>
  actions.map(
    (a) =>
      `    ${a.branch ? "branch   " : "in flight"} ${a.agent} ${a.kind} ${a.actionId}: ${a.status} (policy ${a.verdict}, rule ${a.rule})`,
  )

const runLines = (run: MeshRun) => [
  `  appended: ${Object.keys(run.appended).length === 0 ? "nothing" : appendedLine(run.appended)}`,
  `  outside calls: ${Object.entries(run.outsideCalls)
    .map(([system, n]) => `${system} ${n}`)
    .join(", ")}`,
  `  decisions made anew (a model asked): ${run.decisionsMadeAnew}`,
  // The kept history's reactions, run again by this build: where it would have gone otherwise.
  `  reactions decided otherwise than recorded: ${run.decidedOtherwise.reduce((n, r) => n + r.count, 0)}`,
  ...run.decidedOtherwise.flatMap((r) =>
    r.latest.map(
      (d) =>
        `    ${r.agent} ${r.reactor}: ${d.cause.type} ${d.cause.eventId} -> ${d.aggregate}: ${d.difference}`,
    ),
  ),
]

/**
 * `mesh fork --at <event-id> (--with <json> | --drop)`: the recorded run (a history file, or a
 * namespace's log, read only) cut at the event, played into a fork namespace with the new input in
 * its place, and the mesh run on it with every action held. Reports the branch: what was appended,
 * each action with its verdict, and the outside calls (none; exit 1 otherwise).
 */
export const fork = (args: {
  readonly from: Option.Option<string>
  readonly at: Option.Option<string>
  readonly with: Option.Option<string>
  readonly drop: boolean
  readonly into: Option.Option<string>
  readonly as: Option.Option<string>
  readonly keep: boolean
  readonly timeoutSeconds: number
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const at = yield* Option.match(args.at, {
      onNone: () =>
        meshError({
          _tag: "BadInput",
          message: "say where to fork: --at <event-id> (mesh history shows ids)",
        }),
      onSome: Effect.succeed,
    })
    const input = yield* forkInputOf(args.with, args.drop)
    const operator = yield* personDeciding(args.as)
    const { url, nats } = yield* scopedNatsTarget(args.natsUrl)
    const into = yield* intoNamespace(args.into, "fork")
    const recorded = yield* recordedHistory(nats, args.from, args.namespace, into)
    const cut = cutAt(recorded.commits, at)
    if (Result.isFailure(cut)) return yield* meshError({ _tag: "BadInput", message: `--at: ${cut.failure}` })
    const point = cut.success
    const now = yield* Clock.currentTimeMillis

    // The new input is checked against its contract before anything is written.
    const seed = `fork:${into}:${at}`
    const identityFor = (correlationId: string, causationId: string, occurredAt: string) => ({
      eventIdOf: (index: number) => deterministicUuid(`${seed}:${index}`, now),
      correlationId,
      causationId,
      occurredAt,
    })
    const probe =
      input._tag === "With"
        ? replaceAt(
            point,
            input.fields,
            meshCatalog,
            identityFor("probe", "probe", new Date(now).toISOString()),
          )
        : null
    if (probe !== null && Result.isFailure(probe))
      return yield* meshError({ _tag: "BadInput", message: `--with: ${probe.failure}` })

    yield* playHistory(nats, into, {
      commits: point.before,
      objects: yield* recorded.objectsFor(point.before),
    })
    // The fork is recorded as an outside request in its own log, by the person who made it: the root
    // of the branch's causal tree, and what makes the namespace a fork that `promote` recognizes.
    const requests = makeRequestLog({ nats, namespace: into })
    const replacedType = String(point.event.type)
    const personalTouched =
      probe !== null && Result.isSuccess(probe) && probe.success.personalFieldsChanged.length > 0
    const request = yield* requests
      .record({
        requestId: `fork-${into}`,
        agent: forkAgent,
        name: forkRequestName,
        origin: "cli",
        actor: { kind: "human", id: operator },
        body: {
          source: recorded.source,
          at,
          replaced: replacedType,
          input: input._tag === "With" ? { with: input.fields } : { drop: true },
        },
        // A new customer message is personal data: the request keeps its digest, the event the text.
        personal: personalTouched,
      })
      .pipe(failedTo(`record the fork in namespace ${into}`))
    const branch = request.event.correlationId
    if (input._tag === "With") {
      const replaced = Result.getOrThrow(
        replaceAt(
          point,
          input.fields,
          meshCatalog,
          identityFor(branch, request.event.eventId, request.event.occurredAt),
        ),
      )
      yield* Effect.tryPromise(() =>
        nats.js.publish(
          `${into}.${replaced.commit.subject}`,
          textEncoder.encode(JSON.stringify(replaced.commit.events)),
          replaced.commit.msgId === null ? {} : { msgID: replaced.commit.msgId },
        ),
      ).pipe(failedTo(`append the new ${replacedType} to namespace ${into}`))
    }
    yield* Console.error(
      `fork namespace ${into}: ${point.before.length} commits of ${recorded.source} up to event ${at} (${replacedType}), ` +
        `${input._tag === "With" ? `a new ${replacedType} in its place` : "the event's commit left out"}, ${point.after} later commits not kept; ` +
        "starting the mesh on it with every action held",
    )
    const run = yield* runMeshOn({
      nats,
      url,
      namespace: into,
      keep: args.keep,
      timeoutSeconds: args.timeoutSeconds,
      holdActions: true,
      replay: false,
      what: "the fork",
    })
    const actions = yield* actionsOf(nats, into, Date.parse(request.event.occurredAt), branch)
    const calls = Object.values(run.outsideCalls).reduce((n, c) => n + c, 0)
    // Anything attempted during the dry run would be an action executed (or an outside call made).
    const attempted = run.appended.actions?.ActionAttemptStarted ?? 0
    const report = {
      fork: into,
      chain: branch,
      source: recorded.source,
      at,
      replaced: replacedType,
      input: input._tag === "With" ? "with" : "drop",
      kept: point.before.length,
      notKept: point.after,
      appended: run.appended,
      outsideCalls: run.outsideCalls,
      decisionsMadeAnew: run.decisionsMadeAnew,
      decidedOtherwise: run.decidedOtherwise,
      actions,
      promote: `mesh fork promote ${into} --as ${operator}`,
    }
    if (args.json) yield* Console.log(JSON.stringify(report))
    else {
      yield* Console.log(
        `Forked ${recorded.source} at ${at} (${replacedType}) into namespace ${into}: ${point.before.length} commits kept, ${point.after} after it not kept; the branch's chain is ${branch}`,
      )
      for (const line of runLines(run)) yield* Console.log(line)
      yield* Console.log(
        actions.length === 0
          ? "  actions: none requested"
          : `  actions (${actions.length}, none executed; each waits in the fork's log):`,
      )
      for (const line of describeActions(actions)) yield* Console.log(line)
      yield* Console.log(`  to execute them: ${report.promote}`)
    }
    if (calls > 0 || attempted > 0)
      return yield* meshError({
        _tag: "Failed",
        message: `the dry fork was not dry: ${calls} outside calls, ${attempted} attempts started`,
      })
  }).pipe(Effect.scoped)

const forkInputOf = (withFlag: Option.Option<string>, drop: boolean) =>
  Effect.gen(function* () {
    if (Option.isSome(withFlag) && drop)
      return yield* meshError({ _tag: "BadInput", message: "--with and --drop exclude each other: say one" })
    if (drop) return { _tag: "Drop" } satisfies ForkInput as ForkInput
    if (Option.isNone(withFlag))
      return yield* meshError({
        _tag: "BadInput",
        message: "say what takes the event's place: --with '<json object of payload fields>' or --drop",
      })
    const parsed = yield* Effect.try({
      try: () => JSON.parse(withFlag.value) as unknown,
      catch: (e) => meshError({ _tag: "BadInput", message: `--with is not JSON: ${(e as Error).message}` }),
    })
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      return yield* meshError({
        _tag: "BadInput",
        message: "--with must be a JSON object of the payload fields to replace",
      })
    return { _tag: "With", fields: parsed as Record<string, unknown> } satisfies ForkInput as ForkInput
  })

/**
 * `mesh fork promote <fork>`: the fork's agents started with their executors, against the local
 * stack's simulators of the outside world (in a cluster, promoting a fork is deploying its agents
 * without MESH_ACTIONS_HOLD). Each action the dry fork held is executed once, through the verdict
 * its gate recorded; those waiting for a person still wait. The promotion is recorded in the fork's
 * log by the person who made it. Promoting again executes nothing twice.
 */
export const promote = (args: {
  readonly fork: string
  readonly as: Option.Option<string>
  readonly keep: boolean
  readonly timeoutSeconds: number
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const operator = yield* personDeciding(args.as)
    const { url, nats } = yield* scopedNatsTarget(args.natsUrl)
    const { fork: record, promotions } = yield* forkRecordOf(nats, args.fork)
    if (record === null)
      return yield* meshError({
        _tag: "BadInput",
        message: `namespace ${args.fork} is not a fork: its log records no ${forkRequestName} (make one with mesh fork)`,
      })
    const forkRecord = record as { eventId: string; correlationId: string; occurredAt: string }
    yield* makeRequestLog({ nats, namespace: args.fork })
      .record({
        requestId: `promote-${args.fork}-${promotions + 1}`,
        agent: forkAgent,
        name: promoteRequestName,
        origin: "cli",
        actor: { kind: "human", id: operator },
        body: { fork: args.fork },
        joins: { correlationId: forkRecord.correlationId, causationId: forkRecord.eventId },
      })
      .pipe(failedTo(`record the promotion in namespace ${args.fork}`))
    yield* Console.error(
      `promoting fork ${args.fork}${promotions > 0 ? ` (promoted ${promotions} time${promotions === 1 ? "" : "s"} before)` : ""}: starting the mesh on it with its executors`,
    )
    const run = yield* runMeshOn({
      nats,
      url,
      namespace: args.fork,
      keep: args.keep,
      timeoutSeconds: args.timeoutSeconds,
      holdActions: false,
      replay: false,
      what: "the promoted fork",
    })
    const actions = yield* actionsOf(
      nats,
      args.fork,
      Date.parse(forkRecord.occurredAt),
      forkRecord.correlationId,
    )
    const executedTwice = actions.filter((a) => a.successes > 1)
    const byStatus: Record<string, number> = {}
    for (const a of actions) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1
    const waiting = actions.filter((a) => a.status === "awaiting-approval")
    const report = {
      fork: args.fork,
      chain: forkRecord.correlationId,
      appended: run.appended,
      outsideCalls: run.outsideCalls,
      outsideEffects: run.outsideEffects,
      decisionsMadeAnew: run.decisionsMadeAnew,
      decidedOtherwise: run.decidedOtherwise,
      actions,
      byStatus,
    }
    if (args.json) yield* Console.log(JSON.stringify(report))
    else {
      yield* Console.log(
        `Promoted fork ${args.fork}: ${actions.length} actions, ${Object.entries(byStatus)
          .map(([s, n]) => `${n} ${s}`)
          .join(", ")}`,
      )
      for (const line of runLines(run)) yield* Console.log(line)
      yield* Console.log(`  outside effects: ${run.outsideEffects.length} (one per idempotency key)`)
      for (const line of describeActions(actions)) yield* Console.log(line)
      if (waiting.length > 0)
        yield* Console.log(
          `  ${waiting.length} wait for a person: mesh approvals --namespace ${args.fork}, then mesh approve <agent> <action-id> --hash <h> --namespace ${args.fork}, with the fork's agents running (mesh dev --with-agents --namespace ${args.fork})`,
        )
    }
    if (executedTwice.length > 0)
      return yield* meshError({
        _tag: "Failed",
        message: `actions executed more than once: ${executedTwice.map((a) => a.actionId).join(", ")}`,
      })
  }).pipe(Effect.scoped)
