import type { Worker } from "node:worker_threads"
import { MeshNamespace, NatsClient } from "@mesh/eventlog"
import { makeReadModelDb, parseDatabaseUrl, ReadModelDb } from "@mesh/sql"
import { Config, Effect, Layer } from "effect"
import { AgentSettings } from "../host/agentSettings.ts"
import { runAgentMain } from "../host/main.ts"
import { taskBoardAgent } from "./taskBoardAgent.ts"

// The task-board agent on an embedded database whose thread ends on SIGUSR2, the way running out of
// memory or a crash in PGlite's WebAssembly would end it: for the spec of an agent that loses its
// database while it runs. Otherwise wired as `taskBoardAgent.ts` is, from the environment.

let thread: Worker | undefined
process.on("SIGUSR2", () => void thread?.terminate())

const database = Layer.effect(
  ReadModelDb,
  Effect.flatMap(Config.String("MESH_DATABASE_URL"), (url) =>
    makeReadModelDb(parseDatabaseUrl(url), { pgliteThread: (started) => (thread = started) }),
  ),
)

runAgentMain(
  taskBoardAgent,
  database.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        NatsClient.layerFromConfig("task-board"),
        MeshNamespace.layerFromConfig,
        AgentSettings.layerFromConfig,
      ),
    ),
  ),
)
