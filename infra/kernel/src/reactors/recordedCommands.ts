import type { Domain, EventDefinition } from "@mesh/contracts"
import type { EventLog, EventLogError } from "@mesh/eventlog"
import { Effect, Stream } from "effect"

/** A command the log holds: the aggregate it wrote (`<type>/<id>`), its events' types, and when. */
export interface RecordedCommand {
  readonly aggregate: string
  readonly types: ReadonlyArray<string>
  /** Its first event's `occurredAt`: when the command was decided. */
  readonly occurredAt: string
}

/**
 * The commands an agent's log holds, by command id, read once when a replay starts: what lets a
 * replayed reaction that now gives fewer commands than it recorded be seen. Its commands are
 * compared one by one (their ids derive from the cause and their place), so a command it no
 * longer gives would otherwise leave nothing to compare.
 */
export class RecordedCommands {
  readonly #byId = new Map<string, RecordedCommand>()
  readonly #byCause = new Map<string, number>()

  /** Notes one recorded command (its events in one commit), caused by `causationId`. */
  note(commandId: string, causationId: string | null, command: RecordedCommand): void {
    if (this.#byId.has(commandId)) return
    this.#byId.set(commandId, command)
    if (causationId !== null) this.#byCause.set(causationId, (this.#byCause.get(causationId) ?? 0) + 1)
  }

  /** The recorded command of that id, if the log holds one. */
  get(commandId: string): RecordedCommand | undefined {
    return this.#byId.get(commandId)
  }

  /** How many recorded commands answered the event `causationId`, by any of the agent's reactors. */
  answering(causationId: string): number {
    return this.#byCause.get(causationId) ?? 0
  }

  get size(): number {
    return this.#byId.size
  }
}

/** Reads every command that `domains`' streams hold, as the log recorded them. */
export const readRecordedCommands = <D extends EventDefinition>(
  log: EventLog<D>,
  domains: ReadonlyArray<Domain>,
): Effect.Effect<RecordedCommands, EventLogError> =>
  Effect.gen(function* () {
    const recorded = new RecordedCommands()
    for (const domain of new Set(domains)) {
      const head = yield* log.headSequence(domain)
      if (head === 0) continue
      yield* log.readRange(domain, { fromSequence: 1, toSequence: head }).pipe(
        Stream.runForEach((commit) =>
          Effect.sync(() => {
            // A commit holds one command's events, or, appended together, several commands' in
            // turn, each event naming its own.
            for (const [index, first] of commit.events.entries()) {
              if (first.commandId === undefined || commit.events[index - 1]?.commandId === first.commandId)
                continue
              const own = commit.events.filter((e) => e.commandId === first.commandId)
              recorded.note(first.commandId, first.causationId, {
                aggregate: `${first.aggregateType}/${first.aggregateId}`,
                types: own.map((e) => e.type),
                occurredAt: first.occurredAt,
              })
            }
          }),
        ),
      )
    }
    return recorded
  })
