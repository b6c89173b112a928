import { createServer } from "node:http"
import { type EventDefinition, Subjects } from "@mesh/contracts"
import {
  applyTopology,
  declareTopology,
  MeshNamespace,
  makeEventLog,
  NatsClient,
  RetryingDeliveries,
  SkippedEvents,
  type TopologyReport,
} from "@mesh/eventlog"
import { ReadModelDb } from "@mesh/sql"
import { Cause, Context, Deferred, Duration, Effect, Fiber, Layer, Option, Ref, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { makeCommandHandler } from "../deciders/commandHandler.ts"
import { messageOf } from "../projections/errors.ts"
import { ReactionsDecidedOtherwise } from "../reactors/reactionsDecidedOtherwise.ts"
import { ReactionTimes } from "../reactors/reactionTimes.ts"
import { makeDispatch, runReactor } from "../reactors/reactor.ts"
import { readRecordedCommands } from "../reactors/recordedCommands.ts"
import { makeReceive, makeRequestLog } from "../requests/outsideRequests.ts"
import type { AgentContext, AgentDefinition } from "./agentDefinition.ts"
import { AgentSettings } from "./agentSettings.ts"
import { serveOperators } from "./operations.ts"
import {
  makePartBoard,
  makeRecoverySignal,
  partsReady,
  type RestartBackoff,
  supervisePart,
  watchForRecovery,
} from "./partSupervisor.ts"
import { processVitals, watchEventLoop } from "./processVitals.ts"
import { isTransientFailure } from "./transient.ts"

/** Why an agent could not start: the step, and the cause as it was raised. */
export class AgentStartError extends Schema.TaggedError<AgentStartError>()("AgentStartError", {
  agent: Schema.String,
  step: Schema.String,
  cause: Schema.Defect(),
}) {
  override get message(): string {
    return `agent ${this.agent} could not ${this.step}: ${messageOf(this.cause)}`
  }
}

/** Whether a dependency answers, and if not, why. */
export interface DependencyHealth {
  readonly ok: boolean
  readonly error?: string
}

/** A started agent: where it listens and how it is doing. */
export interface RunningAgent {
  readonly httpUrl: string
  readonly topology: TopologyReport
  readonly isReady: Effect.Effect<boolean>
  readonly status: Effect.Effect<unknown>
}

/** The services the host itself needs from an agent's layer, besides what the agent's parts need. */
export type AgentHostServices = NatsClient | ReadModelDb | MeshNamespace | AgentSettings

/** Options for tests and tools that start an agent in process. */
export interface StartAgentOptions {
  /** Backoff between restarts of a part after a transient failure. */
  readonly restartBackoff?: RestartBackoff
  /** How long a dependency probe may take before the dependency counts as down (default 2 s). */
  readonly probeTimeoutMs?: number
  /** How often the dependencies are probed while a part waits to retry (default 500 ms). */
  readonly recoveryProbeIntervalMs?: number
}

const probe = (check: Effect.Effect<unknown, unknown>, timeoutMs: number): Effect.Effect<DependencyHealth> =>
  check.pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(timeoutMs),
      orElse: () => Effect.fail(new Error(`no answer within ${timeoutMs} ms`)),
    }),
    Effect.as({ ok: true }),
    Effect.catchCause((cause) => Effect.succeed({ ok: false, error: messageOf(Cause.squash(cause)) })),
  )

/**
 * Starts an agent in the current scope, on the connections its layer provides: the streams it
 * needs, its read-model migrations, its reactors and workers (each supervised: restarted after a
 * transient failure, stopped with its reason after any other), and its HTTP routes beside
 * /healthz, /readyz and /status. Closing the scope drains: readiness drops, consumers stop pulling
 * and finish the message in hand, then connections close.
 */
export const startAgent = <D extends EventDefinition, R>(
  agent: AgentDefinition<D, R>,
  options: StartAgentOptions = {},
) =>
  Effect.gen(function* () {
    const fail = (step: string) => (cause: unknown) => new AgentStartError({ agent: agent.name, step, cause })
    const settings = yield* AgentSettings
    const nats = yield* NatsClient
    const { db, ping: pingDb, location: dbLocation } = yield* ReadModelDb
    const { name: namespace, replicas } = yield* MeshNamespace
    Subjects.deadLetter(namespace, agent.name)

    const topology = yield* applyTopology(nats.jsm, declareTopology({ namespace, replicas })).pipe(
      Effect.mapError(fail("declare its streams")),
    )
    if (agent.migrate !== undefined)
      yield* agent.migrate(db).pipe(Effect.mapError(fail(`migrate its read models in ${dbLocation}`)))

    const log = makeEventLog({ nats, catalog: agent.catalog, namespace })
    const dispatch = makeDispatch(
      agent.aggregates.map((aggregate) =>
        makeCommandHandler(log, aggregate, { replaying: settings.replaying }),
      ),
    )
    const requests = makeRequestLog({ nats, namespace })
    const receive = makeReceive({ agent: agent.name, requests, dispatch })
    const context: AgentContext<D> = { agent: agent.name, namespace, nats, log, db, dispatch, receive }

    const started = yield* Ref.make(false)
    const drain = yield* Deferred.make<void>()
    const board = yield* makePartBoard
    const recovery = yield* makeRecoverySignal
    const supervise = (name: string, kind: "reactor" | "worker", run: Effect.Effect<void, unknown, R>) =>
      supervisePart({
        name,
        kind,
        run,
        board,
        drain,
        agent: agent.name,
        isTransient: isTransientFailure,
        recovery,
        ...(options.restartBackoff === undefined ? {} : { backoff: options.restartBackoff }),
      })

    // Events of types the agent's catalogue lacks, skipped by each reactor: on /status.
    const skipped = new Map(agent.reactors.map((reactor) => [reactor.name, new SkippedEvents()]))
    // Reactions the code now decides otherwise than the log recorded, by reactor: on /status.
    const otherwise = new Map(
      agent.reactors.map((reactor) => [reactor.name, new ReactionsDecidedOtherwise()]),
    )
    // Deliveries each reactor tries again after a transient failure (a read model behind or
    // stopped, a dependency away), with since when and why: on /status.
    const retrying = new Map(agent.reactors.map((reactor) => [reactor.name, new RetryingDeliveries()]))
    // Where each reactor's reactions spend their time: on /status, and as histograms on /metrics.
    const times = new Map(
      agent.reactors.map((reactor) => [
        reactor.name,
        new ReactionTimes({ agent: agent.name, reactor: reactor.name, domain: reactor.consumes.domain }),
      ]),
    )
    // A replay compares each reaction with what the log recorded for it, the commands it no longer
    // gives too: those are read once, before any reactor starts.
    const recorded = settings.replaying
      ? yield* readRecordedCommands(
          log,
          agent.aggregates.map((aggregate) => aggregate.domain),
        ).pipe(Effect.mapError(fail("read the commands its log recorded, for the replay")))
      : undefined
    const fibers = [
      ...(yield* Effect.forEach(agent.reactors, (reactor) =>
        Effect.forkDetach(
          supervise(
            reactor.name,
            "reactor",
            runReactor({
              nats,
              namespace,
              catalog: agent.catalog,
              reactor,
              dispatch,
              agent: agent.name,
              until: Deferred.await(drain),
              skipped: skipped.get(reactor.name)!,
              otherwise: otherwise.get(reactor.name)!,
              retrying: retrying.get(reactor.name)!,
              times: times.get(reactor.name)!,
              ...(recorded === undefined ? {} : { recorded }),
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
        yield* Ref.set(started, false)
        yield* board.draining
        yield* Deferred.succeed(drain, undefined)
        const joined = yield* Effect.forEach(fibers, Fiber.await).pipe(
          Effect.timeoutOption(Duration.millis(settings.shutdownGraceMs)),
        )
        if (Option.isNone(joined)) {
          yield* Effect.logWarning(
            `${agent.name}: drain took longer than ${settings.shutdownGraceMs} ms; abandoning`,
          )
          yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
        }
      }),
    )

    const probeTimeoutMs = options.probeTimeoutMs ?? 2_000
    // A JetStream API round trip, not just a ping: after a server restart the connection is back
    // before JetStream has recovered its streams, and an agent that cannot reach them is not ready.
    const dependencies = Effect.all(
      {
        nats: probe(
          Effect.tryPromise(() => nats.jsm.getAccountInfo()),
          probeTimeoutMs,
        ),
        database: probe(pingDb(probeTimeoutMs), probeTimeoutMs),
      },
      { concurrency: "unbounded" },
    )
    // While a part waits to retry, NATS and the database are probed; once both answer after one
    // did not, the waiting parts try at once rather than at the end of their backoff, which after
    // a few outages in a row is up to half a minute.
    yield* Effect.forkScoped(
      Effect.raceFirst(
        watchForRecovery({
          board,
          recovery,
          dependenciesAnswer: Effect.map(dependencies, (health) => health.nats.ok && health.database.ok),
          interval: Duration.millis(options.recoveryProbeIntervalMs ?? 500),
          agent: agent.name,
        }),
        Deferred.await(drain),
      ),
    )
    const readyWhileRetrying = new Set(
      (agent.workers ?? []).filter((w) => w.readyWhileRetrying === true).map((w) => w.name),
    )
    const readiness = Effect.gen(function* () {
      const parts = yield* board.all
      const deps = yield* dependencies
      const workersReady = yield* Effect.forEach(agent.workers ?? [], (w) => w.ready ?? Effect.succeed(true))
      const ready =
        (yield* Ref.get(started)) &&
        deps.nats.ok &&
        deps.database.ok &&
        partsReady(parts, readyWhileRetrying) &&
        workersReady.every(Boolean)
      return { ready, parts, dependencies: deps }
    })

    // The server's count of each reactor's backlog, asked side by side and each bounded under the
    // operator question's 1.5 s: a slow answer leaves its counts unknown, never the rest (the
    // reactions' times are the process's own and always there).
    const reactorLag = Effect.forEach(
      agent.reactors,
      (reactor) =>
        Effect.tryPromise(() =>
          nats.jsm.consumers.info(Subjects.streamName(namespace, reactor.consumes.domain), reactor.name),
        ).pipe(
          Effect.map((info) => ({
            name: reactor.name,
            pending: info.num_pending,
            unacknowledged: info.num_ack_pending,
          })),
          Effect.timeoutOption(Duration.millis(Math.min(probeTimeoutMs, 1_000))),
          Effect.map(Option.getOrElse(() => ({ name: reactor.name, pending: null, unacknowledged: null }))),
          Effect.orElseSucceed(() => ({ name: reactor.name, pending: null, unacknowledged: null })),
          Effect.map((lag) => ({
            ...lag,
            skipped: skipped.get(reactor.name)!.counts(),
            decidedOtherwise: otherwise.get(reactor.name)!.summary(),
            retrying: retrying.get(reactor.name)!.summary(),
          })),
          Effect.flatMap((lag) =>
            Effect.map(times.get(reactor.name)!.summary, (timing) => ({ ...lag, timing })),
          ),
        ),
      { concurrency: "unbounded" },
    )
    const workerStatus = Effect.forEach(agent.workers ?? [], (worker) =>
      (worker.status === undefined ? Effect.succeed(null) : worker.status(context)).pipe(
        Effect.timeoutOption(Duration.millis(probeTimeoutMs)),
        Effect.map((status) => ({
          name: worker.name,
          status: Option.getOrElse(status, () => "unavailable"),
        })),
        Effect.orElseSucceed(() => ({ name: worker.name, status: "unavailable" })),
      ),
    )
    // /status and the agent's routes run in the server's fibers: they get the agent's services
    // here. TypeScript cannot reduce `Exclude<R, R>` for a generic R, hence the annotations.
    const services = yield* Effect.context<R>()
    const withServices = <A, E>(effect: Effect.Effect<A, E, R>) =>
      Effect.provide(effect, services) as Effect.Effect<A, E>
    const status = withServices(
      Effect.gen(function* () {
        const { ready, parts, dependencies } = yield* readiness
        return {
          agent: agent.name,
          namespace,
          ready,
          dependencies,
          parts: [...parts].sort((a, b) => a.name.localeCompare(b.name)),
          reactors: yield* reactorLag,
          workers: yield* workerStatus,
          topology: { drifted: topology.drifted },
          process: processVitals(),
        }
      }),
    )

    // An operator's questions and commands, over NATS (`mesh projections`).
    yield* serveOperators({
      nats,
      namespace,
      context,
      workers: agent.workers ?? [],
      reactors: agent.reactors,
      catalog: agent.catalog,
      requests,
      withServices,
      reactorStatus: reactorLag,
      otherwise,
      ...(recorded === undefined ? {} : { recorded }),
    })

    const hostRoutes = Layer.mergeAll(
      HttpRouter.add("GET", "/healthz", HttpServerResponse.text("ok")),
      HttpRouter.add(
        "GET",
        "/readyz",
        Effect.map(readiness, (r) =>
          r.ready ? HttpServerResponse.text("ready") : HttpServerResponse.text("not ready", { status: 503 }),
        ),
      ),
      HttpRouter.add(
        "GET",
        "/status",
        Effect.flatMap(status, (s) => HttpServerResponse.json(s)),
      ),
      // The process's metrics in Prometheus' text format: each reactor's reaction times among them.
      PrometheusMetrics.layerHttp({ path: "/metrics" }),
    )
    const agentRoutes = Layer.mergeAll(
      Layer.empty,
      ...(agent.routes ?? []).map((route) => route(context)),
    ).pipe(Layer.provide(Layer.succeedContext(services))) as Layer.Layer<
      never,
      unknown,
      HttpRouter.HttpRouter
    >
    const routes = Layer.mergeAll(hostRoutes, agentRoutes)
    // Loaded here, once the agent's connections are up: a process that stops on a bad setting
    // should not pay for an HTTP server it never starts.
    const NodeHttpServer = yield* Effect.promise(() => import("@effect/platform-node/NodeHttpServer"))
    const server = yield* Layer.build(
      HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(() => createServer(), { port: settings.httpPort, host: settings.httpHost }),
        ),
      ),
    ).pipe(Effect.mapError(fail(`listen on ${settings.httpHost}:${settings.httpPort}`)))
    const formatted = HttpServer.formatAddress(Context.get(server, HttpServer.HttpServer).address)
    // A server bound to every interface is reached locally through the loopback address.
    const httpUrl = formatted.replace("0.0.0.0", "127.0.0.1").replace("[::]", "127.0.0.1")

    yield* Ref.set(started, true)
    // From here on: the start's module loading and migrations hold the loop by design, and would
    // stand for the agent's lateness at work.
    watchEventLoop()
    yield* Effect.logInfo(`agent ${agent.name} ready on ${httpUrl} (namespace ${namespace})`)
    return {
      httpUrl,
      topology,
      isReady: Effect.map(readiness, (r) => r.ready),
      status,
    } satisfies RunningAgent
  })
