import type { EventDefinition, RegisterDefinition } from "@mesh/contracts"
import type { AgentWorker } from "@mesh/kernel"
import { makeConflicts, type RegisterChangedEvent, Registers } from "@mesh/registers"
import { Effect, Fiber, Stream } from "effect"

/** What the resolver has done since it started, for `/status`. */
export interface ResolverTally {
  /** Instances it found concurrent and merged. */
  resolved: number
  /** Conflicts no rule settles, put to a human (`mesh conflicts`). */
  escalated: number
  /** Instances holding values no rule settles and no choice settles (a reservation taken at two sites). */
  unresolved: number
  /** Changes of registers this build does not declare (a newer writer's), skipped. */
  skippedUnknown: number
}

/**
 * The resolver's one part: it watches every change that lands in its site's register bucket (its
 * own site's writes and the ones replicated from peers), and merges an instance whose sites hold
 * writes the others have not seen, by the register's declared merge. The merge is stored as a
 * `Merge` change in the registers stream, naming the concurrent inputs, their writers (in their
 * contexts) and the rule; a replay merges the same inputs the same way.
 *
 * At start it first sweeps every instance in the bucket, so that conflicts that arrived while it
 * was down are resolved too. A merge is idempotent (the second finds nothing concurrent), so a
 * restart or two resolvers at two sites record one merge per site at most.
 */
export const resolverWorker = <D extends EventDefinition>(
  declared: ReadonlyArray<RegisterDefinition<never, never, unknown>>,
  tally: ResolverTally,
): AgentWorker<D, Registers> => {
  const byName = new Map(declared.map((definition) => [definition.name, definition]))
  return {
    name: "resolve-registers",
    run: (context, until) =>
      Effect.gen(function* () {
        const registers = yield* Registers
        const conflicts = makeConflicts(context.nats, context.namespace)
        const resolve = (register: string, id: string, cause?: RegisterChangedEvent) =>
          Effect.gen(function* () {
            const definition = byName.get(register)
            if (definition === undefined) {
              tally.skippedUnknown++
              return
            }
            const chain =
              cause === undefined ? {} : { correlationId: cause.correlationId, causationId: cause.eventId }
            const merged = yield* registers.merge(definition, id, {
              rule: `${definition.kind.kind} merge`,
              actor: { kind: "agent", id: "conflict-resolver" },
              ...chain,
            })
            if (merged !== undefined) {
              tally.resolved++
              const change = merged.change.payload.change
              yield* Effect.logInfo(
                `merged ${register}/${id} from ${change._tag === "Merge" ? change.inputs.map((i) => i.site).join(" and ") : "?"}`,
              )
            }
            // What the merge keeps side by side (siblings) goes to a human, once per conflict.
            const reading = yield* registers.read(definition, id)
            if (reading.unresolved.length === 0) return
            if (definition.kind.settle === undefined) {
              tally.unresolved++
              return
            }
            const escalation = yield* conflicts.escalate(definition, reading, chain)
            if (escalation.escalated) {
              tally.escalated++
              yield* Effect.logInfo(
                `escalated ${register}/${id}: ${reading.unresolved.length} concurrent values wait for a human (conflict ${escalation.conflictId})`,
              )
            }
          })
        // Watch first, then sweep: a change landing during the sweep is seen by the watch.
        const watching = yield* registers.watch().pipe(
          // Its own merges change nothing further.
          Stream.filter(
            (change) => !(change.payload.change._tag === "Merge" && change.payload.site === registers.site),
          ),
          Stream.runForEach((change) => resolve(change.payload.register, change.payload.id, change)),
          Effect.forkChild,
        )
        const instances = yield* registers.list()
        yield* Effect.forEach(instances, (i) => resolve(i.register, i.id), { discard: true })
        yield* Effect.raceFirst(Fiber.join(watching), until)
      }),
    status: () => Effect.succeed({ ...tally }),
  }
}
