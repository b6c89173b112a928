import { type Actor, actionEvents, type EventOf, makeCatalog, sagaEvents } from "@mesh/contracts"
import { type EventLog, makeEventLog, type NatsHandles } from "@mesh/eventlog"
import {
  type AggregateDefinition,
  type CommandError,
  type CommandHandler,
  type CommandOutcome,
  type DomainEvent,
  deterministicUuid,
  makeCommandHandler,
} from "@mesh/kernel/deciders"
import { Clock, Effect } from "effect"
import { type ActionCommand, actionDecider } from "./actionDecider.ts"

/** The catalogue of the actions domain: all the executor, the gate and approvals read and write. */
export const actionCatalog = makeCatalog(actionEvents)
/** An event definition of the actions domain. */
export type ActionDefs = (typeof actionCatalog.definitions)[number]
/** A decoded event of the actions domain. */
export type ActionDomainEvent = EventOf<ActionDefs>

/** Who sends a command to an action, and in which conversation. */
export interface ActionCommandContext {
  readonly actor: Actor
  readonly correlationId: string
  readonly causationId: string | null
}

/** Whether an event of the actions stream belongs to a saga rather than to an action. */
export const isSagaEvent: (event: { readonly type: string }) => boolean = (() => {
  const types = new Set<string>(sagaEvents.map((d) => d.type))
  return (event) => types.has(event.type)
})()

/**
 * Command handlers of one decider for every agent: actions and sagas of an agent are the aggregate
 * type named after it (`mesh.actions.<agent>.<id>`), so there is one handler per agent, made on demand.
 */
export const perAgentHandlers = <Command, State>(
  log: EventLog<ActionDefs>,
  // Any decider of the actions domain; each folds only its own events (checked by the caller's types).
  decider: {
    readonly initialState: () => State
    readonly evolve: (state: State, event: never) => State
    readonly decide: (command: Command, state: State) => ReadonlyArray<DomainEvent>
  },
) => {
  const handlers = new Map<string, CommandHandler<ActionDefs, Command, State>>()
  return (agent: string): CommandHandler<ActionDefs, Command, State> => {
    let handler = handlers.get(agent)
    if (handler === undefined) {
      handler = makeCommandHandler(log, {
        domain: "actions",
        type: agent,
        decider: decider as AggregateDefinition<ActionDefs, Command, State>["decider"],
      })
      handlers.set(agent, handler)
    }
    return handler
  }
}

/**
 * Command handling for actions of every agent: an agent's actions are the aggregate type named
 * after it (`mesh.actions.<agent>.<actionId>`), so there is one handler per agent, made on demand.
 */
export const makeActionCommands = (options: { readonly nats: NatsHandles; readonly namespace: string }) => {
  const log = makeEventLog({ nats: options.nats, catalog: actionCatalog, namespace: options.namespace })
  const handlerOf = perAgentHandlers(log, actionDecider)

  /** The current state of an action and its position in the log. */
  const load = (agent: string, actionId: string) => handlerOf(agent).state(actionId)

  /**
   * Sends a command decided at a known aggregate version. `commandKey` names the step; with the
   * version it seeds the command id, so the same step retried after a crash is recognised.
   */
  const send = (
    agent: string,
    actionId: string,
    commandKey: string,
    command: ActionCommand,
    context: ActionCommandContext,
  ): Effect.Effect<CommandOutcome<ActionDefs>, CommandError> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      return yield* handlerOf(agent).handle({
        commandId: deterministicUuid(`action:${agent}:${actionId}:${commandKey}:${command._tag}`, now),
        aggregateId: actionId,
        command,
        issuedAt: now,
        metadata: {
          correlationId: context.correlationId,
          causationId: context.causationId,
          actor: context.actor,
        },
      })
    })

  return { log, load, send }
}

/** Command handling for actions. */
export type ActionCommands = ReturnType<typeof makeActionCommands>
