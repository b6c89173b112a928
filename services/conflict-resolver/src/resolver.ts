import { makeActionCommands } from "@mesh/actions"
import {
  defineInvariant,
  type EventDefinition,
  type InvariantDefinition,
  type InvariantInputs,
  type RegisterDefinition,
} from "@mesh/contracts"
import { messageOf } from "@mesh/eventlog"
import { type AgentWorker, isTransientError } from "@mesh/kernel"
import {
  applyReplication,
  conflictIdOf,
  declareReplication,
  makeConflicts,
  type RegisterChangedEvent,
  type RegisterError,
  type RegisterReading,
  Registers,
  superviseReplication,
} from "@mesh/registers"
import { Clock, Effect, Fiber, Stream } from "effect"

/**
 * The built-in rule for values that neither the register's merge nor a person's choice settles (a
 * reservation taken at two sites while they were apart): recorded once as a violation, with a
 * command to the register's owner, which alone can undo one of them at the site that holds it.
 */
// biome-ignore lint/suspicious/noExplicitAny: the rule reads a register of any kind
export const unresolvedBy = (definition: RegisterDefinition<any, any, any>): InvariantDefinition =>
  defineInvariant({
    name: "settled-by-merge",
    owner: definition.owner,
    summary: `every value of ${definition.name} is settled by its merge`,
    registers: [definition],
    check: (id, inputs) => {
      const input = inputs.get(definition.name)
      if (input === undefined) return []
      const left = definition.kind.unresolved(input.snapshot.state as never)
      if (left.length === 0) return []
      return [
        {
          subject: `unsettled-${conflictIdOf(definition.name, id, input.snapshot.context)}`,
          message: `${definition.name}/${id} holds ${left.length} sets of concurrent values its merge keeps side by side`,
          resolution: {
            _tag: "Command",
            agent: definition.owner,
            command: "SettleConcurrentValues",
            payload: { register: definition.name, id, values: left },
          },
        },
      ]
    },
  })

/** What the resolver has done since it started, for `/status`. */
export interface ResolverTally {
  /** Instances it found concurrent and merged. */
  resolved: number
  /** Conflicts no rule settles, put to a human (`mesh conflicts`). */
  escalated: number
  /** Invariant violations recorded (each once). */
  violations: number
  /** Instances it could not resolve (named in its log), other than through an outage. */
  failed: number
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
 *
 * Then it checks the invariants that name the changed register, for the same instance: each
 * violation is recorded once with its declared resolution. A `Compensate` resolution asks the
 * actions layer to undo the named action (its decider does so once, and only for an action that
 * succeeded and declared a compensation); a `Command` is carried by the recorded violation, to which
 * the owning agent reacts; an `Escalate` waits for a human in `mesh conflicts`.
 */
export const resolverWorker = <D extends EventDefinition>(
  declared: ReadonlyArray<RegisterDefinition<never, never, unknown>>,
  tally: ResolverTally,
  invariants: ReadonlyArray<InvariantDefinition> = [],
): AgentWorker<D, Registers> => {
  const byName = new Map(declared.map((definition) => [definition.name, definition]))
  return {
    name: "resolve-registers",
    run: (context, until) =>
      Effect.gen(function* () {
        const registers = yield* Registers
        const conflicts = makeConflicts(context.nats, context.namespace)
        const actions = makeActionCommands({ nats: context.nats, namespace: context.namespace })

        const home = [registers.site, ...registers.peers].sort()[0] === registers.site
        const checkInvariants = (
          register: string,
          id: string,
          cause: RegisterChangedEvent | undefined,
          readOf: (
            definition: InvariantDefinition["registers"][number],
          ) => Effect.Effect<RegisterReading<unknown, unknown>, RegisterError>,
          checked: ReadonlyArray<InvariantDefinition> = invariants,
        ) =>
          Effect.forEach(
            checked.filter((invariant) => invariant.registers.some((r) => r.name === register)),
            (invariant) =>
              Effect.gen(function* () {
                const readings = yield* Effect.forEach(invariant.registers, (r) => readOf(r))
                const inputs: InvariantInputs = new Map(
                  readings.map((reading) => [
                    reading.register,
                    { value: reading.value, snapshot: reading.snapshot },
                  ]),
                )
                const contexts = Object.fromEntries(readings.map((r) => [r.register, r.snapshot.context]))
                for (const violation of invariant.check(id, inputs)) {
                  const recorded = yield* conflicts.recordViolation(invariant, id, violation, contexts, {
                    ...(cause === undefined
                      ? {}
                      : { correlationId: cause.correlationId, causationId: cause.eventId }),
                  })
                  if (recorded.recorded) {
                    tally.violations++
                    yield* Effect.logWarning(
                      `${invariant.name} violated by ${register}/${id}: ${violation.message}; resolution ${violation.resolution._tag}`,
                    )
                  }
                  const resolution = violation.resolution
                  if (resolution._tag !== "Compensate" || recorded.event === undefined) continue
                  // Sent again when the violation is seen again (after a crash between the record and
                  // this): the action's decider compensates a succeeded action once and ignores the rest.
                  yield* actions
                    .send(
                      resolution.agent,
                      resolution.actionId,
                      `invariant-${recorded.violationId}`,
                      {
                        _tag: "RequestCompensation",
                        reason: resolution.reason,
                        now: new Date(yield* Clock.currentTimeMillis).toISOString(),
                      },
                      {
                        actor: { kind: "agent", id: "conflict-resolver" },
                        correlationId: recorded.event.correlationId,
                        causationId: recorded.event.eventId,
                      },
                    )
                    .pipe(
                      // An outage fails the part (the host restarts it and its sweep sends this again);
                      // an action that cannot be compensated is named.
                      Effect.catchIf(
                        (e) => !isTransientError(e),
                        (e) =>
                          Effect.logWarning(
                            `could not compensate ${resolution.agent}/${resolution.actionId}: ${e.message}`,
                          ),
                      ),
                    )
                }
              }),
            { discard: true },
          )
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
            // Merges are every site's to store; what is recorded for people and owners (violations,
            // escalations, compensations) only the home site records, so that it is recorded once.
            if (!home) return
            // Each register of the instance is read once after the merge, for every rule that names it.
            const readings = new Map<string, RegisterReading<unknown, unknown>>()
            const readOf = (r: InvariantDefinition["registers"][number]) => {
              const known = readings.get(r.name)
              return known === undefined
                ? Effect.tap(registers.read(r, id), (reading) =>
                    Effect.sync(() => readings.set(r.name, reading)),
                  )
                : Effect.succeed(known)
            }
            const reading = yield* registers.read(definition, id)
            readings.set(register, reading as RegisterReading<unknown, unknown>)
            yield* checkInvariants(register, id, cause, readOf)
            if (reading.unresolved.length === 0) return
            if (definition.kind.settle === undefined) {
              // Values no merge and no choice settles (a reservation taken at two sites): the owner acts.
              yield* checkInvariants(register, id, cause, readOf, [unresolvedBy(definition as never)])
              return
            }
            // What the merge keeps side by side (siblings) goes to a human, once per conflict.
            const escalation = yield* conflicts.escalate(definition, reading, chain)
            if (escalation.escalated) {
              tally.escalated++
              yield* Effect.logInfo(
                `escalated ${register}/${id}: ${reading.unresolved.length} concurrent values wait for a human (conflict ${escalation.conflictId})`,
              )
            }
          })
        // One instance that cannot be resolved (a value no one can decode, an invariant that fails)
        // is named and counted; it must not stop the resolver for every other instance. Only an
        // outage stops the part, for the host to restart it after a backoff.
        const resolveOne = (register: string, id: string, cause?: RegisterChangedEvent) =>
          resolve(register, id, cause).pipe(
            Effect.catchIf(
              (e) => !isTransientError(e),
              (e) =>
                Effect.sync(() => {
                  tally.failed++
                }).pipe(
                  Effect.andThen(Effect.logWarning(`could not resolve ${register}/${id}: ${messageOf(e)}`)),
                ),
            ),
          )
        yield* Effect.scoped(
          Effect.gen(function* () {
            // Watching starts before the sweep, so that a change landing during the sweep is seen.
            const changes = yield* registers.subscribe()
            const watching = yield* changes.pipe(
              // Its own merges change nothing further.
              Stream.filter(
                (change) =>
                  !(change.payload.change._tag === "Merge" && change.payload.site === registers.site),
              ),
              Stream.runForEach((change) => resolveOne(change.payload.register, change.payload.id, change)),
              Effect.forkChild,
            )
            const instances = yield* registers.list()
            yield* Effect.forEach(instances, (i) => resolveOne(i.register, i.id), { discard: true })
            yield* Effect.raceFirst(Fiber.join(watching), until)
          }),
        )
      }),
    status: () => Effect.succeed({ ...tally }),
  }
}

/**
 * The resolver's second part, at a site with peers (`MESH_PEER_SITES`): it declares the sources
 * that bring each peer's register keys into this site's bucket (through the peer's JetStream
 * domain, named after the peer) and keeps them flowing, putting back a source that stalled after a
 * partition instead of waiting minutes for the server's own retry. Without peers it only waits.
 */
export const replicationWorker = <D extends EventDefinition>(): AgentWorker<D, Registers> => ({
  name: "replicate-registers",
  run: (context, until) =>
    Effect.gen(function* () {
      const registers = yield* Registers
      if (registers.peers.length === 0) return yield* until
      const declaration = declareReplication({
        namespace: context.namespace,
        site: registers.site,
        peers: registers.peers,
      })
      const report = yield* applyReplication(context.nats.jsm, declaration)
      yield* Effect.logInfo(
        `replication of ${registers.peers.join(", ")} into ${report.stream}: ${report.outcome}`,
      )
      yield* Effect.raceFirst(superviseReplication(context.nats, declaration), until)
    }),
})
