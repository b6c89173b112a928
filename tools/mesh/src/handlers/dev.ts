import type { NatsHandles } from "@mesh/eventlog"
import { applyTopology, declareTopology } from "@mesh/eventlog"
import {
  findDevServer,
  NatsServerNotFound,
  natsServerVersion,
  projectDataDir,
  resolveNats,
} from "@mesh/stack"
import { Config, Console, Effect, Option } from "effect"
import pg from "pg"
import { meshError, redactUrl } from "../errors.ts"
import { connectionLost, failedTo, namespaceOf, scopedNats } from "./nats.ts"

/** A NATS for `mesh dev`: where it is, what to say about it, and whether this process runs it. */
interface DevNats {
  readonly url: string
  readonly describe: string
  readonly owned: boolean
}

/** Starts the private nats-server on the project's store (or a container), stopping it when the scope closes. */
const startServer = (dataDir: string) =>
  Effect.gen(function* () {
    const binaryMissing = yield* Effect.tryPromise({
      try: () => natsServerVersion(),
      catch: (cause) => cause,
    }).pipe(
      Effect.as(false),
      Effect.catchIf(
        (cause) => cause instanceof NatsServerNotFound,
        () => Effect.succeed(true),
      ),
      Effect.mapError((cause) => meshError({ _tag: "NatsServerFailed", cause })),
    )
    const nats = yield* Effect.acquireRelease(
      Effect.tryPromise({
        // MESH_NATS_URL was handled before: the stack must only start a server (or a container).
        try: () =>
          resolveNats({ dataDir, env: { ...process.env, MESH_NATS_URL: undefined, NATS_URL: undefined } }),
        catch: (cause) =>
          meshError(
            binaryMissing ? { _tag: "NatsServerMissing", cause } : { _tag: "NatsServerFailed", cause },
          ),
      }),
      (n) => Effect.promise(() => n.stop()),
    )
    return {
      url: nats.url,
      describe: nats.source === "private" ? `private nats-server, store ${dataDir}/nats` : nats.source,
      owned: true,
    } satisfies DevNats
  })

/** The NATS `mesh dev` works with: MESH_NATS_URL, else the one a running `mesh dev` owns, else its own. */
const devNats = (dataDir: string) =>
  Effect.gen(function* () {
    const env = yield* Config.option(Config.String("MESH_NATS_URL"))
    if (Option.isSome(env) && env.value.trim() !== "")
      return { url: env.value, describe: "MESH_NATS_URL", owned: false } satisfies DevNats
    const running = findDevServer(dataDir)
    switch (running._tag) {
      case "Running":
        return {
          url: running.url,
          describe: `reusing the nats-server (pid ${running.serverPid}) that process ${running.ownerPid} runs on ${running.storeDir}`,
          owned: false,
        } satisfies DevNats
      case "Starting":
        return yield* meshError({
          _tag: "StoreInUse",
          storeDir: running.storeDir,
          ownerPid: running.ownerPid,
        })
      case "Free":
        return yield* startServer(dataDir)
    }
  })

/** Checks that the Postgres of MESH_DATABASE_URL answers, within seconds. */
const checkPostgres = (url: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 })),
    (client) =>
      Effect.tryPromise({
        try: () => client.connect().then(() => client.query("select 1")),
        catch: (cause) => meshError({ _tag: "PostgresUnreachable", url, cause }),
      }),
    (client) => Effect.promise(() => client.end().catch(() => undefined)),
  )

/**
 * The mesh itself on top of the stack: the simulators in this process, each agent and the conflict
 * resolver in its own, with their PGlite and LanceDB folders under the project's data folder (kept
 * across runs), as `pnpm demo` starts them; then the settings to reach them, until Ctrl-C.
 */
const withAgents = (nats: DevNats, namespace: string, client: NatsHandles) =>
  Effect.gen(function* () {
    const { startMeshStack } = yield* Effect.promise(() => import("@mesh/demo/stack"))
    const stack = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          startMeshStack({ namespace, keepData: true, nats: { url: nats.url, source: nats.describe } }),
        catch: (cause) =>
          meshError({ _tag: "Failed", message: `the agents did not start: ${String(cause)}` }),
      }),
      (s) => Effect.promise(() => s.stop()),
    )
    const lines = [
      `NATS                    ${nats.url} (${nats.describe}), namespace ${namespace}`,
      ...Object.values(stack.agents).map(
        (a) => `${a.agent.padEnd(24)}${a.url} (pid ${a.pid()}, log ${stack.dataDir}/logs/${a.agent}.log)`,
      ),
      ...Object.entries(stack.simulators.urls).map(
        ([name, url]) => `${`${name} (simulated)`.padEnd(24)}${url}`,
      ),
      `data                    ${stack.dataDir} (PGlite and LanceDB folders per agent)`,
      "",
      "For `pnpm mesh` in another terminal (the owner approves; the gateway opens tickets):",
      `export MESH_NATS_URL=${nats.url} MESH_NAMESPACE=${namespace} MESH_APPROVER=${stack.shop.owner.name} \\`,
      `  MESH_CUSTOMER_OPS_URL=${stack.urlOf("customer-ops")} MESH_PROCUREMENT_URL=${stack.urlOf("procurement")} \\`,
      `  MESH_APPROVER_TOKEN=${stack.shop.owner.token} MESH_INTAKE_TOKEN=${stack.shop.gatewayToken}`,
      "",
      `The storefront's webhooks are signed for customer-ops; place an order with POST ${stack.simulators.storefront.url}/_admin/orders.`,
      `Ctrl-C stops the agents${nats.owned ? " and the stack" : "; the server keeps running"}.`,
    ]
    yield* Console.log(lines.join("\n"))
    return yield* connectionLost(client, nats.url)
  })

/**
 * `mesh dev`: the local stack until Ctrl-C. NATS from MESH_NATS_URL, else the server a running
 * `mesh dev` owns, else a private nats-server with its store under the project's data folder
 * (kept across runs); the namespace's streams declared; Postgres checked when MESH_DATABASE_URL
 * names one. Stops only what it started.
 */
export const dev = (args: { readonly namespace: Option.Option<string>; readonly withAgents?: boolean }) =>
  Effect.gen(function* () {
    const namespace = yield* namespaceOf(args.namespace)
    const dataDir = projectDataDir()
    const nats = yield* devNats(dataDir)
    const client = yield* scopedNats(nats.url, "mesh-dev")
    const report = yield* applyTopology(client.jsm, declareTopology({ namespace })).pipe(
      failedTo(`declare the streams of namespace ${namespace}`),
    )
    const databaseUrl = Option.filter(
      yield* Config.option(Config.String("MESH_DATABASE_URL")),
      (url) => url.trim() !== "",
    )
    if (Option.isSome(databaseUrl)) yield* checkPostgres(databaseUrl.value)
    yield* Console.log(`NATS      ${nats.url} (${nats.describe})`)
    yield* Console.log(`streams   ${[...report.created, ...report.unchanged].join(", ")}`)
    if (report.drifted.length > 0)
      yield* Console.log(`drifted   ${report.drifted.map((d) => d.stream).join(", ")}`)
    // An agent opens only the database it is told to: a server here, else its own PGlite folder.
    const database = Option.match(databaseUrl, {
      onSome: (url) => ({ shown: redactUrl(url), env: "" }),
      onNone: () => ({
        shown: `embedded PGlite, one folder per agent under ${dataDir}/${namespace} (set MESH_DATABASE_URL to use a server)`,
        env: `MESH_DATABASE_URL=pglite:${dataDir}/${namespace}/pglite-<agent>`,
      }),
    })
    if (args.withAgents === true) return yield* withAgents(nats, namespace, client)
    yield* Console.log(`Postgres  ${database.shown}`)
    yield* Console.log(
      `\nAn agent started from another terminal needs:\nexport MESH_NATS_URL=${nats.url} MESH_NAMESPACE=${namespace}${database.env === "" ? "" : ` ${database.env}`}\n\nCtrl-C stops ${nats.owned ? "the stack" : "this command; the server keeps running"}.`,
    )
    // Runs until Ctrl-C, or until the server goes away under it.
    return yield* connectionLost(client, nats.url)
  }).pipe(Effect.scoped)
