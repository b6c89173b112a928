import type { AgentDefinition } from "../host/agentHost.ts"
import { runAgentMain } from "../host/main.ts"
import { boardAggregate, tallyCompletions, taskAggregate, taskCatalog } from "./taskBoard.ts"

/** The kernel's test agent: the task board with its tally reactor. */
export const taskBoardAgent: AgentDefinition<(typeof taskCatalog.definitions)[number]> = {
  name: "task-board",
  catalog: taskCatalog,
  aggregates: [taskAggregate, boardAggregate],
  reactors: [tallyCompletions],
}

if (import.meta.main) runAgentMain(taskBoardAgent)
