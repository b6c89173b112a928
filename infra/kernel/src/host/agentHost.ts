import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { type EventCatalog, type EventDefinition, Subjects } from "@mesh/contracts"
import {
  applyTopology,
  declareTopology,
  type EventLog,
  makeEventLog,
  type NatsHandles,
  openNats,
  type TopologyReport,
} from "@mesh/eventlog"
import { makeKysely, projectDataDir, resolveNats, resolvePostgres } from "@mesh/stack"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Ref, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import type { Kysely } from "kysely"
import { type AggregateDefinition, makeCommandHandler } from "../deciders/commandHandler.ts"
import { type Dispatch, makeDispatch, type ReactorDefinition, runReactor } from "../reactors/reactor.ts"
import type { AgentHostConfig } from "./config.ts"

/** What an agent's parts get from the host: its identity, the log, the read-model database and dispatch. */
export interface AgentContext<D extends EventDefinition> {
  readonly agent: string
  readonly namespace: string
  readonly nats: NatsHandles
  readonly log: EventLog<D>
  // biome-ignore lint/suspicious/noExplicitAny: each agent narrows the database to its own schema
  readonly db: Kysely<any>
  readonly dispatch: Dispatch
}

/** A long-running part of an agent besides its reactors: a projection, an action executor. */
export interface AgentWorker<D extends EventDefinition> {
  readonly name: string
  /** Runs until `until` completes (then drains and returns) or until interrupted. */
  readonly run: (context: AgentContext<D>, until: Effect.Effect<void>) => Effect.Effect<void, unknown>
  /** What /status shows for it, such as a projection's lag. */
  readonly status?: (context: AgentContext<D>) => Effect.Effect<unknown, unknown>
}

/** An agent: its catalogue, aggregates, reactors, workers and read-model migrations. */
export interface AgentDefinition<D extends EventDefinition> {
  readonly name: string
  readonly catalog: EventCatalog<D>
  // biome-ignore lint/suspicious/noExplicitAny: aggregates of one agent have different command and state types
  readonly aggregates: ReadonlyArray<AggregateDefinition<D, any, any>>
  // biome-ignore lint/suspicious/noExplicitAny: reactors may need services the host does not know
  readonly reactors: ReadonlyArray<ReactorDefinition<D, any, never>>
  readonly workers?: ReadonlyArray<AgentWorker<D>>
  /** Runs the read-model migrations at start-up (under the migrator's advisory lock). */
  // biome-ignore lint/suspicious/noExplicitAny: see AgentContext.db
  readonly migrate?: (db: Kysely<any>) => Effect.Effect<void, unknown>
}

/** Why an agent could not start. */
export class AgentStartError extends Schema.TaggedError<AgentStartError>()("AgentStartError", {
  agent: Schema.String,
  step: Schema.String,
  message: Schema.String,
}) {}

type PartState = "starting" | "running" | "draining" | "stopped" | "failed"

interface PartStatus {
  readonly name: string
  readonly kind: "reactor" | "worker"
  readonly state: PartState
  readonly error?: string
}

/** A started agent: where it listens and how it is doing. */
export interface RunningAgent {
  readonly httpUrl: string
  readonly topology: TopologyReport
  readonly isReady: Effect.Effect<boolean>
  readonly status: Effect.Effect<unknown>
}

const startError = (agent: string, step: string) => (cause: unknown) =>
  new AgentStartError({ agent, step, message: cause instanceof Error ? cause.message : String(cause) })

/**
 * Starts an agent in the current scope: NATS (from config or the local stack), the streams it
 * needs, the read-model database and its migrations, its reactors and workers, and the health,
 * readiness and status endpoints. Closing the scope drains: readiness drops, consumers stop pulling
 * and finish the message in hand, then connections close.
 */
export const startAgent = <D extends EventDefinition>(agent: AgentDefinition<D>, config: AgentHostConfig) =>
  Effect.gen(function* () {
    const fail = (step: string) => startError(agent.name, step)
    Subjects.deadLetter(config.namespace, agent.name)

    const natsUrl = yield* Option.match(config.natsUrl, {
      onSome: (url) => Effect.succeed(url),
      onNone: () =>
        Effect.acquireRelease(
          Effect.tryPromise({
            try: () => resolveNats({ dataDir: projectDataDir(), env: {} }),
            catch: fail("resolve NATS"),
          }),
          (resolved) => Effect.promise(() => resolved.stop()),
        ).pipe(Effect.map((r) => r.url)),
    })
    const nats = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => openNats(natsUrl, agent.name),
        catch: fail(`connect to NATS at ${natsUrl}`),
      }),
      (h) => Effect.promise(() => h.connection.drain().catch(() => undefined)),
    )
    const topology = yield* applyTopology(
      nats.jsm,
      declareTopology({ namespace: config.namespace, replicas: config.streamReplicas }),
    ).pipe(Effect.mapError(fail("declare streams")))

    const postgres = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          resolvePostgres({
            dataDir: `${projectDataDir()}/pglite-${agent.name}`,
            env: Option.match(config.databaseUrl, {
              onNone: () => ({}),
              onSome: (url) => ({ DATABASE_URL: url }),
            }),
          }),
        catch: fail("open the read-model database"),
      }),
      (p) => Effect.promise(() => p.close()),
    )
    const db = makeKysely(postgres)
    if (agent.migrate !== undefined) yield* agent.migrate(db).pipe(Effect.mapError(fail("migrate")))

    const log = makeEventLog({ nats, catalog: agent.catalog, namespace: config.namespace })
    const dispatch = makeDispatch(agent.aggregates.map((aggregate) => makeCommandHandler(log, aggregate)))
    const context: AgentContext<D> = {
      agent: agent.name,
      namespace: config.namespace,
      nats,
      log,
      db,
      dispatch,
    }

    const ready = yield* Ref.make(false)
    const drain = yield* Deferred.make<void>()
    const parts = yield* Ref.make<ReadonlyArray<PartStatus>>([])
    const setPart = (status: PartStatus) =>
      Ref.update(parts, (all) => [...all.filter((p) => p.name !== status.name), status])

    const supervise = (name: string, kind: PartStatus["kind"], run: Effect.Effect<void, unknown>) =>
      setPart({ name, kind, state: "running" }).pipe(
        Effect.andThen(run),
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? setPart({ name, kind, state: "stopped" })
            : Exit.hasInterrupts(exit)
              ? setPart({ name, kind, state: "stopped" })
              : setPart({
                  name,
                  kind,
                  state: "failed",
                  error: String(Exit.isFailure(exit) ? exit.cause : ""),
                }).pipe(
                  // A failed part makes the agent unready rather than killing it, so that /status
                  // keeps explaining the failure instead of a restart loop hiding it.
                  Effect.andThen(Ref.set(ready, false)),
                  Effect.andThen(Effect.logError(`${kind} ${name} of ${agent.name} failed`, exit.cause)),
                ),
        ),
        Effect.ignore,
      )

    const fibers = [
      ...(yield* Effect.forEach(agent.reactors, (reactor) =>
        Effect.forkDetach(
          supervise(
            reactor.name,
            "reactor",
            runReactor({
              nats,
              namespace: config.namespace,
              catalog: agent.catalog,
              reactor,
              dispatch,
              agent: agent.name,
              until: Deferred.await(drain),
            }),
          ),
        ),
      )),
      ...(yield* Effect.forEach(agent.workers ?? [], (worker) =>
        Effect.forkDetach(supervise(worker.name, "worker", worker.run(context, Deferred.await(drain)))),
      )),
    ]

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* Ref.set(ready, false)
        yield* Ref.update(parts, (all) =>
          all.map((p) => (p.state === "running" ? { ...p, state: "draining" as const } : p)),
        )
        yield* Deferred.succeed(drain, undefined)
        const joined = yield* Effect.forEach(fibers, Fiber.await).pipe(
          Effect.timeoutOption(Duration.millis(config.shutdownGraceMs)),
        )
        if (Option.isNone(joined)) {
          yield* Effect.logWarning(
            `${agent.name}: drain took longer than ${config.shutdownGraceMs} ms; abandoning`,
          )
          yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
        }
      }),
    )

    const reactorLag = Effect.forEach(agent.reactors, (reactor) =>
      Effect.tryPromise(() =>
        nats.jsm.consumers.info(Subjects.streamName(config.namespace, reactor.consumes.domain), reactor.name),
      ).pipe(
        Effect.map((info) => ({
          name: reactor.name,
          pending: info.num_pending,
          unacknowledged: info.num_ack_pending,
        })),
        Effect.orElseSucceed(() => ({ name: reactor.name, pending: null, unacknowledged: null })),
      ),
    )
    const workerStatus = Effect.forEach(agent.workers ?? [], (worker) =>
      (worker.status === undefined ? Effect.succeed(null) : worker.status(context)).pipe(
        Effect.map((status) => ({ name: worker.name, status })),
        Effect.orElseSucceed(() => ({ name: worker.name, status: "unavailable" })),
      ),
    )
    const status = Effect.gen(function* () {
      return {
        agent: agent.name,
        namespace: config.namespace,
        ready: yield* Ref.get(ready),
        parts: yield* Ref.get(parts),
        reactors: yield* reactorLag,
        workers: yield* workerStatus,
        topology: { drifted: topology.drifted },
      }
    })

    const routes = Layer.mergeAll(
      HttpRouter.add("GET", "/healthz", HttpServerResponse.text("ok")),
      HttpRouter.add(
        "GET",
        "/readyz",
        Effect.map(Ref.get(ready), (r) =>
          r ? HttpServerResponse.text("ready") : HttpServerResponse.text("not ready", { status: 503 }),
        ),
      ),
      HttpRouter.add(
        "GET",
        "/status",
        Effect.flatMap(status, (s) => HttpServerResponse.json(s)),
      ),
    )
    const server = yield* Layer.build(
      HttpRouter.serve(routes, { disableLogger: true }).pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(() => createServer(), { port: config.httpPort, host: config.httpHost }),
        ),
      ),
    ).pipe(Effect.mapError(fail(`listen on ${config.httpHost}:${config.httpPort}`)))
    const formatted = HttpServer.formatAddress(Context.get(server, HttpServer.HttpServer).address)
    // A server bound to every interface is reached locally through the loopback address.
    const httpUrl = formatted.replace("0.0.0.0", "127.0.0.1").replace("[::]", "127.0.0.1")

    yield* Ref.set(ready, true)
    yield* Effect.logInfo(`agent ${agent.name} ready on ${httpUrl} (namespace ${config.namespace})`)
    return { httpUrl, topology, isReady: Ref.get(ready), status } satisfies RunningAgent
  })
