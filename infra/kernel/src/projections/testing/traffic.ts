import type { CommitMetadata } from "@mesh/contracts"
import { type AggregatePosition, type EventLog, initialPosition, type NewEvent } from "@mesh/eventlog"
import { Effect } from "effect"
import type { MeshDefinition } from "./ticketProjection.ts"

/** One commit of one ticket. */
export interface TrafficCommit {
  readonly ticketId: string
  readonly events: ReadonlyArray<NewEvent<MeshDefinition>>
}

/** Options of {@link ticketTraffic}. */
export interface TrafficOptions {
  /** Total events over all commits. */
  readonly events: number
  readonly tickets: number
  /** Prefix of the ticket ids (so that several plans can share a stream). */
  readonly prefix: string
  /** Largest commit (events in one commit); sizes cycle deterministically from 1. */
  readonly maxCommitSize?: number
  readonly seed?: number
}

const opened = (n: number): NewEvent<MeshDefinition> => ({
  type: "TicketOpened",
  payload: {
    tenantId: `tenant-${n % 3}`,
    customerId: `customer-${n}`,
    channel: (["email", "chat", "web"] as const)[n % 3]!,
    subject: `Order ${n}`,
    body: "Where is my parcel?",
    orderId: n % 2 === 0 ? `order-${n}` : null,
  },
})

const escalated = (reason: string): NewEvent<MeshDefinition> => ({
  type: "TicketEscalated",
  payload: { reason, queue: "tier-2" },
})

/**
 * A deterministic plan of ticket commits, in rounds: round r holds the r-th commit of every
 * ticket that has one, so a round can be appended concurrently while each ticket stays in order.
 * Each ticket opens, then escalates repeatedly; every seventh ticket is resolved at the end.
 */
export const ticketTraffic = (options: TrafficOptions): ReadonlyArray<ReadonlyArray<TrafficCommit>> => {
  const maxCommitSize = options.maxCommitSize ?? 4
  let state = options.seed ?? 42
  const next = () => {
    // A small LCG: reproducible commit sizes without Math.random.
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state
  }
  const perTicket: Array<Array<TrafficCommit>> = Array.from({ length: options.tickets }, () => [])
  const counts: Array<number> = Array.from({ length: options.tickets }, () => 0)
  let remaining = options.events
  let t = 0
  while (remaining > 0) {
    const ticket = t % options.tickets
    const ticketId = `${options.prefix}-${ticket}`
    // The high bits: the low bits of a power-of-two-modulus LCG repeat with a short period.
    const size = Math.min(remaining, 1 + ((next() >>> 16) % maxCommitSize))
    const events: Array<NewEvent<MeshDefinition>> = []
    for (let i = 0; i < size; i++) {
      const n = counts[ticket]!++
      events.push(n === 0 ? opened(ticket) : escalated(`reason-${n}`))
    }
    perTicket[ticket]!.push({ ticketId, events })
    remaining -= size
    t++
  }
  for (let ticket = 0; ticket < options.tickets; ticket += 7) {
    const commits = perTicket[ticket]!
    const last = commits[commits.length - 1]
    if (last !== undefined && last.events[last.events.length - 1]?.type !== "TicketOpened") {
      commits[commits.length - 1] = {
        ticketId: last.ticketId,
        events: [...last.events.slice(0, -1), { type: "TicketResolved", payload: { resolution: "done" } }],
      }
    }
  }
  const rounds: Array<Array<TrafficCommit>> = []
  for (const commits of perTicket) {
    commits.forEach((commit, r) => {
      rounds[r] ??= []
      rounds[r]!.push(commit)
    })
  }
  return rounds
}

const metadata: CommitMetadata = {
  correlationId: "kernel-test",
  causationId: null,
  actor: { kind: "system", id: "kernel-test" },
}

/** Appends commits of tickets, remembering each ticket's position so every append is optimistic. */
export const makeTicketAppender = (log: EventLog<MeshDefinition>) => {
  const positions = new Map<string, AggregatePosition>()
  const appendCommit = (commit: TrafficCommit) =>
    log
      .append({
        aggregate: { domain: "customer", type: "ticket", id: commit.ticketId },
        expected: positions.get(commit.ticketId) ?? initialPosition,
        events: commit.events,
        metadata,
      })
      .pipe(Effect.tap((result) => Effect.sync(() => positions.set(commit.ticketId, result.position))))
  return {
    appendCommit,
    /** Appends one round concurrently (its commits are of distinct tickets). */
    appendRound: (round: ReadonlyArray<TrafficCommit>, concurrency = 16) =>
      Effect.forEach(round, appendCommit, { concurrency, discard: true }),
  }
}

/** Events in a plan. */
export const eventCount = (rounds: ReadonlyArray<ReadonlyArray<TrafficCommit>>): number =>
  rounds.reduce((n, round) => n + round.reduce((m, c) => m + c.events.length, 0), 0)
