import type { ReactionTimesSummary, TimeSpread } from "@mesh/contracts"
import { Console, Effect, Option } from "effect"
import { askEveryInstance, instanceNames, namespaceOf, scopedNatsTarget } from "./nats.ts"
import { table } from "./table.ts"

// `mesh reactors` asks the running agents over NATS, as `mesh projections` does: every instance
// answers with its reactors as its /status gives them. What an SRE asks of a slow hop: is the
// reactor behind (pending, retrying), and is its time the mesh's (the delivery to a free reactor,
// the commit) or its own (the queue behind its work, the work)?

/** One reactor, as an instance's /status gives it. */
interface ReactorStatus {
  readonly name: string
  /** Null when the server could not say in time. */
  readonly pending: number | null
  readonly unacknowledged: number | null
  readonly retrying: { readonly count: number }
  readonly skipped: Readonly<Record<string, number>>
  readonly timing?: ReactionTimesSummary
}

/** One reactor of one agent instance, as it answered. */
export interface ReactorRow extends ReactorStatus {
  readonly agent: string
  readonly instance: string
}

const spread = (s: TimeSpread | null | undefined, p: "p50" | "p99" | "both" = "both"): string =>
  s == null ? "-" : p === "both" ? `${s.p50}/${s.p99}` : String(s[p])

/** `mesh reactors`: every running agent's reactors, their backlog and where their reactions spend their time. */
export const list = (args: {
  readonly agent: Option.Option<string>
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const answers = yield* askEveryInstance<{
      readonly agent: string
      readonly instance: string
      /** Null when the instance could not say in time. */
      readonly reactors: ReadonlyArray<ReactorStatus> | null
    }>(nats, namespace, "reactors")
    const asked = answers.filter((a) =>
      Option.match(args.agent, { onNone: () => true, onSome: (agent) => a.agent === agent }),
    )
    const rows: Array<ReactorRow> = asked
      .flatMap((a) => (a.reactors ?? []).map((r) => ({ ...r, agent: a.agent, instance: a.instance })))
      .sort((a, b) =>
        `${a.agent} ${a.name} ${a.instance}`.localeCompare(`${b.agent} ${b.name} ${b.instance}`),
      )
    if (args.json) {
      for (const r of rows) yield* Console.log(JSON.stringify(r))
      return
    }
    const silent = asked.filter((a) => a.reactors === null).map((a) => `${a.agent}@${a.instance}`)
    const who = instanceNames(rows)
    const lines = table(
      ["AGENT", "REACTOR", "PENDING", "RETRYING", "REACTIONS", "DELIVERY", "QUEUE p99", "WORK", "COMMIT"],
      rows.map((r) => [
        who(r),
        r.name,
        r.pending ?? "?",
        r.retrying.count,
        r.timing?.workMs?.count ?? 0,
        spread(r.timing?.deliveryMs),
        spread(r.timing?.queueMs, "p99"),
        spread(r.timing?.workMs),
        spread(r.timing?.commitMs),
      ]),
    )
    for (const line of lines) yield* Console.log(line)
    yield* Console.log(
      `${rows.length} reactor${rows.length === 1 ? "" : "s"}; times in ms, p50/p99 since each instance's process started: delivery from the event stored to its reaction's start (first deliveries), the part of it queued behind the reactor's own work, the reaction's work, its commands' commit`,
    )
    if (silent.length > 0) yield* Console.error(`no reactor status in time from ${silent.join(", ")}`)
  }).pipe(Effect.scoped)
