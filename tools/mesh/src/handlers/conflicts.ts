import { type InvariantResolution, type RegisterDefinition, Subjects, shopRegisters } from "@mesh/contracts"
import {
  type Conflict,
  makeConflicts,
  makeRegisters,
  type RecordedViolation,
  type RegisterError,
} from "@mesh/registers"
import { Config, Console, Effect, Option } from "effect"
import { describeCause, meshError } from "../errors.ts"
import {
  failedTo,
  namespaceOf,
  personDeciding,
  scopedNatsTarget,
  streamExists,
  subjectToken,
} from "./nats.ts"

/** Where a conflicts command reads: `--nats-url` and `--namespace`. */
interface Target {
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}

// The CLI answers conflicts of any declared register, whatever its state, kind or value types.
const declared = shopRegisters as unknown as ReadonlyArray<RegisterDefinition>

/** Connects and checks the registers stream; the conflicts of the namespace read from it. */
const connect = (target: Target) =>
  Effect.gen(function* () {
    const namespace = yield* namespaceOf(target.namespace)
    const stream = yield* Effect.try({
      try: () => Subjects.streamName(namespace, "registers"),
      catch: (cause) => meshError({ _tag: "BadInput", message: describeCause(cause) }),
    })
    const { url, nats } = yield* scopedNatsTarget(target.natsUrl)
    yield* streamExists(
      nats,
      stream,
      `namespace ${namespace} has no registers stream ${stream}; \`mesh streams\` declares it`,
      `could not read stream ${stream}`,
    )
    return { url, nats, namespace, conflicts: makeConflicts(nats, namespace) }
  })

/**
 * `MESH_SITE` (default "main") and `MESH_PEER_SITES`: the site whose key the answer is written to,
 * and the peers whose keys it is merged with, as the site's agents see the register.
 */
const siteOf = Effect.gen(function* () {
  const site = Option.getOrElse(
    Option.filter(yield* Config.option(Config.String("MESH_SITE")), (value) => value.trim() !== ""),
    () => "main",
  )
  const peers = Option.getOrElse(yield* Config.option(Config.String("MESH_PEER_SITES")), () => "")
    .split(",")
    .map((peer) => peer.trim())
    .filter((peer) => peer !== "")
  return {
    site: yield* subjectToken("MESH_SITE", site),
    peerSites: yield* Effect.forEach(peers, (peer) => subjectToken("MESH_PEER_SITES", peer)),
  }
})

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

/** What a listing shows: an escalated conflict, or a recorded violation. */
type Item =
  | { readonly kind: "escalation"; readonly at: string; readonly conflict: Conflict }
  | { readonly kind: "violation"; readonly at: string; readonly violation: RecordedViolation }

/** Whether an item still waits for a human: an unanswered escalation, a violation put to one. */
const isOpen = (item: Item) =>
  item.kind === "escalation"
    ? item.conflict.resolution === undefined
    : item.violation.payload.resolution._tag === "Escalate"

/** A violation's declared resolution in words. */
const formatResolution = (r: InvariantResolution) => {
  switch (r._tag) {
    case "Escalate":
      return "escalate to a human"
    case "Command":
      return `command ${r.command} to ${r.agent} ${JSON.stringify(r.payload)}`
    case "Compensate":
      return `compensate action ${r.actionId} of ${r.agent} (${r.reason})`
  }
}

/** An item as its lines: one, and the numbered values of an open escalation under it. */
const formatItem = (item: Item): ReadonlyArray<string> => {
  if (item.kind === "violation") {
    const v = item.violation
    const p = v.payload
    return [
      `violation ${p.violationId} ${p.invariant} owner ${p.owner} ${p.id} at ${v.occurredAt}: ${p.message}; resolution ${formatResolution(p.resolution)}`,
    ]
  }
  const { escalation, resolution } = item.conflict
  const p = escalation.payload
  const head = `escalation ${p.conflictId} ${p.register}/${p.id} owner ${p.owner}`
  if (resolution !== undefined) {
    const r = resolution.payload
    return [
      `${head} resolved by ${resolution.actor.id} at ${resolution.occurredAt}: chose ${r.chosen} ${JSON.stringify(r.value)}`,
    ]
  }
  return [
    `${head} open since ${escalation.occurredAt}: ${p.reason}; hash ${p.valuesSha256}`,
    ...p.values.map((value, n) => `  ${n} ${JSON.stringify(value)}`),
  ]
}

/** An item as one JSON object, `kind` saying which. */
const itemJson = (item: Item) => {
  if (item.kind === "violation") {
    const v = item.violation
    return {
      kind: "violation",
      ...v.payload,
      recordedAt: v.occurredAt,
      eventId: v.eventId,
      correlationId: v.correlationId,
    }
  }
  const { escalation, resolution } = item.conflict
  // The payload's `kind` is the register's; `kind` here says what the object is.
  const { kind: registerKind, ...payload } = escalation.payload
  return {
    kind: "escalation",
    ...payload,
    registerKind,
    status: resolution === undefined ? "open" : "resolved",
    escalatedAt: escalation.occurredAt,
    eventId: escalation.eventId,
    correlationId: escalation.correlationId,
    resolution:
      resolution === undefined
        ? null
        : {
            by: resolution.actor,
            chosen: resolution.payload.chosen,
            value: resolution.payload.value,
            resolvedAt: resolution.occurredAt,
            eventId: resolution.eventId,
          },
  }
}

/** `mesh conflicts`: the escalated conflicts and the invariant violations, newest last. */
export const list = (args: Target & { readonly open: boolean; readonly json: boolean }) =>
  Effect.gen(function* () {
    const { namespace, conflicts } = yield* connect(args)
    const [escalated, violations] = yield* Effect.all([conflicts.list, conflicts.violations], {
      concurrency: 2,
    }).pipe(failedTo(`read the conflicts of namespace ${namespace}`))
    const items = [
      ...escalated.map(
        (conflict): Item => ({ kind: "escalation", at: conflict.escalation.occurredAt, conflict }),
      ),
      ...violations.map((violation): Item => ({ kind: "violation", at: violation.occurredAt, violation })),
    ]
      .filter((item) => !args.open || isOpen(item))
      // ISO times of one format sort as text; the sort is stable, so each kind keeps its log order.
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
    for (const item of items) {
      if (args.json) yield* Console.log(JSON.stringify(itemJson(item)))
      else for (const line of formatItem(item)) yield* Console.log(line)
    }
    if (args.json) return
    const escalations = items.filter((item) => item.kind === "escalation")
    const violationsShown = items.filter((item) => item.kind === "violation")
    const open = escalations.filter(isOpen).length
    const toEscalate = violationsShown.filter(isOpen).length
    yield* Console.log(
      `${plural(escalations.length, "escalation")} (${open} open), ${plural(violationsShown.length, "violation")} (${toEscalate} to escalate) in namespace ${namespace}` +
        (open === 0
          ? ""
          : "; answer with `mesh conflicts resolve <conflict-id> --choose <n> --hash <sha256> --as <name>`"),
    )
  }).pipe(Effect.scoped)

// A refusal names what was wrong; only a log or bucket that could not serve the answer is the
// infrastructure's fault.
const answerFailed = (error: RegisterError, url: string) => {
  switch (error.reason._tag) {
    case "Rejected":
    case "Refused":
    case "InvalidOperation":
      return meshError({ _tag: "Failed", message: `${error.message}; nothing written` })
    case "Unavailable":
      return meshError({ _tag: "NatsUnreachable", url, cause: error })
    case "NotAWriter":
    case "UndecodableValue":
    case "Contended":
      return meshError({ _tag: "Failed", message: "could not write the answer", cause: error })
  }
}

/** `mesh conflicts resolve`: writes the chosen value for the register's owner, bound to the values' digest. */
export const resolve = (
  args: Target & {
    readonly conflictId: string
    readonly choose: number
    readonly hash: string
    readonly as: Option.Option<string>
  },
) =>
  Effect.gen(function* () {
    const conflictId = yield* subjectToken("conflict id", args.conflictId)
    const { site, peerSites } = yield* siteOf
    const decider = yield* personDeciding(args.as)
    const { url, nats, namespace, conflicts } = yield* connect(args)
    // The escalation names its register, and the register's declaration says whom to write for.
    const listed = yield* conflicts.list.pipe(failedTo(`read the conflicts of namespace ${namespace}`))
    const conflict = listed.find((c) => c.escalation.payload.conflictId === conflictId)
    if (conflict === undefined) {
      return yield* meshError({
        _tag: "Failed",
        message: `no conflict ${conflictId} in namespace ${namespace} (\`mesh conflicts\` lists them); nothing written`,
      })
    }
    const { register, id, owner } = conflict.escalation.payload
    const definition = declared.find((r) => r.name === register)
    if (definition === undefined) {
      return yield* meshError({
        _tag: "Failed",
        message: `conflict ${conflictId} is of register ${register}, which this release's contracts do not declare; nothing written`,
      })
    }
    const registers = yield* makeRegisters(nats, {
      namespace,
      agent: definition.owner,
      instance: "mesh-cli",
      site,
      peerSites: peerSites.filter((peer) => peer !== site),
    }).pipe(failedTo(`open the registers of namespace ${namespace} for ${definition.owner}`))
    const written = yield* conflicts
      .answer(definition, registers, {
        conflictId,
        choose: args.choose,
        valuesSha256: args.hash,
        actor: { kind: "human", id: decider },
      })
      .pipe(Effect.mapError((error) => answerFailed(error, url)))
    yield* Console.log(
      `${conflictId}: ${register}/${id} = ${JSON.stringify(written.value)} (value ${args.choose} chosen by ${decider}, written for ${owner} at site ${site}, change ${written.change.eventId})`,
    )
  }).pipe(Effect.scoped)
