import type { AgentDefinition } from "../host/agentHost.ts"
import { runAgentMain } from "../host/main.ts"
import { projectionWorker } from "../host/projectionWorker.ts"
import {
  boardAggregate,
  tallyCompletions,
  taskAggregate,
  taskCatalog,
  taskListProjection,
} from "./taskBoard.ts"

/** The kernel's test agent: the task board with its tally reactor and its task list read model. */
export const taskBoardAgent: AgentDefinition<(typeof taskCatalog.definitions)[number]> = {
  name: "task-board",
  catalog: taskCatalog,
  aggregates: [taskAggregate, boardAggregate],
  reactors: [tallyCompletions],
  // Tests give each run its own schema; a deployment uses the agent's (task_board).
  workers: [
    projectionWorker(taskListProjection, {
      ...(process.env.MESH_READ_MODEL_SCHEMA === undefined
        ? {}
        : { schema: process.env.MESH_READ_MODEL_SCHEMA }),
    }),
  ],
}

if (import.meta.main) runAgentMain(taskBoardAgent)
