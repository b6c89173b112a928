import { defineAgent } from "../host/agentDefinition.ts"
import { agentHostLayerFromConfig, runAgentMain } from "../host/main.ts"
import { projectionWorker } from "../host/projectionWorker.ts"
import {
  boardAggregate,
  tallyCompletions,
  taskAggregate,
  taskCatalog,
  taskListProjection,
} from "./taskBoard.ts"

/** The kernel's test agent: the task board with its tally reactor and its task list read model. */
export const taskBoardAgent = defineAgent({
  name: "task-board",
  catalog: taskCatalog,
  aggregates: [taskAggregate, boardAggregate],
  reactors: [tallyCompletions],
  // In its namespace's schema (`<namespace>__task_board`): each test's namespace has its own.
  workers: [projectionWorker(taskListProjection)],
})

// #region readme:agent-wiring
/** Its whole wiring: the host's connections and settings, from the environment. */
export const taskBoardLayer = agentHostLayerFromConfig("task-board")

if (import.meta.main) runAgentMain(taskBoardAgent, taskBoardLayer)
// #endregion
