import { applyTopology, declareTopology, openNats } from "@mesh/eventlog"
import { projectDataDir, resolveNats } from "@mesh/stack"
import { Console, Effect, Option } from "effect"
import { Command } from "effect/cli"
import { namespaceOf } from "../target.ts"
import { namespaceFlag } from "./streams.ts"

/**
 * `mesh dev`: the local stack for development. NATS from NATS_URL, else a private nats-server with
 * its store under the project's data folder (kept across runs), the namespace's streams declared,
 * and the settings to point agents at it. Runs until Ctrl-C; stops only what it started.
 */
export const devCommand = Command.make("dev", { namespace: namespaceFlag }, (args) =>
  Effect.gen(function* () {
    const namespace = namespaceOf(Option.getOrUndefined(args.namespace))
    const dataDir = projectDataDir()
    const nats = yield* Effect.acquireRelease(
      Effect.tryPromise(() => resolveNats({ dataDir })),
      (n) => Effect.promise(() => n.stop()),
    )
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise(() => openNats(nats.url, "mesh-dev")),
      (h) => Effect.promise(() => h.connection.drain()),
    )
    const report = yield* applyTopology(client.jsm, declareTopology({ namespace }))
    yield* Console.log(
      `NATS      ${nats.url} (${nats.source}${nats.source === "private" ? `, store ${dataDir}/nats` : ""})`,
    )
    yield* Console.log(`streams   ${[...report.created, ...report.unchanged].join(", ")}`)
    if (report.drifted.length > 0)
      yield* Console.log(`drifted   ${report.drifted.map((d) => d.stream).join(", ")}`)
    yield* Console.log(
      `Postgres  ${process.env.DATABASE_URL ?? `embedded PGlite per agent under ${dataDir} (set DATABASE_URL to use a server)`}`,
    )
    yield* Console.log(`\nexport NATS_URL=${nats.url} MESH_NAMESPACE=${namespace}\n\nCtrl-C stops the stack.`)
    return yield* Effect.never
  }).pipe(Effect.scoped),
).pipe(Command.withDescription("Run the local stack (NATS and streams) until Ctrl-C"))
