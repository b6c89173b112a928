/**
 * A test agent whose reactor asks a model, as the domain agents will: it triages each new task of
 * the kernel's task board with a skill, decided once per task event (`decideOnce`), and assigns
 * the task to the desk the model chose. Run as a process it is wired from the environment like
 * any agent (`MESH_OLLAMA_HOST` names the model server), and for the crash test it follows
 * `MESH_CRASH_PLAN`: a comma-separated list saying what its k-th reaction does once the decision
 * is made (the model has answered and the decision is recorded; the task is not assigned and the
 * event not acked yet): `kill` SIGKILLs the process (no finally, no flush, no ack), `fail` fails
 * the reaction (redelivered after a short backoff), `go` or nothing carries on. Each reaction
 * prints `reaction <taskId> <decided|recalled> <step>` on stdout first.
 *
 *   MESH_NATS_URL=… MESH_DATABASE_URL=… MESH_NAMESPACE=… MESH_OLLAMA_HOST=… MESH_CRASH_PLAN=kill node triageBoardAgent.ts
 */
import type { EventOf } from "@mesh/contracts"
import { agentHostLayerFromConfig, defineAgent, type ReactorDefinition, runAgentMain } from "@mesh/kernel"
import { taskAggregate, taskCatalog } from "@mesh/kernel/testing/taskBoard"
import { Effect, Layer, Schema } from "effect"
import { type Decided, decideOnce } from "../decisions/decideOnce.ts"
import { DecisionRecorder } from "../decisions/decisionRecorder.ts"
import { ModelProvider } from "../modelProvider.ts"
import { type SampleSorting, sortMessage } from "./sampleSkill.ts"

type TaskDefs = (typeof taskCatalog.definitions)[number]

/** What the reactor does between the decision and its commands; the crash test's hook. */
export type AfterDecision = (
  event: EventOf<TaskDefs>,
  decided: Decided<SampleSorting>,
) => Effect.Effect<void, unknown>

/** The agent's name: its decisions are `<ns>.decisions.triage-board.<id>`. */
export const triageBoardName = "triage-board"

/** Triages each opened task, decided once, and assigns it to the desk the model chose. */
export const triageTasks = (
  afterDecision: AfterDecision = () => Effect.void,
): ReactorDefinition<TaskDefs, unknown, ModelProvider | DecisionRecorder> => ({
  name: "triage-tasks",
  consumes: { domain: "content" },
  eventTypes: ["TaskOpened"],
  // Enough deliveries for the crash test's planned failures; short backoffs so that it runs in seconds.
  maxDeliveries: 10,
  backoff: { initialMs: 50, maxMs: 400, factor: 2 },
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "TaskOpened") return []
      const triage = { subject: event.payload.title, body: event.payload.title }
      const decided = yield* decideOnce(sortMessage, triage, { cause: event, agent: triageBoardName })
      yield* afterDecision(event, decided)
      const desk = decided.output === null ? "human" : decided.output.topic
      return [
        {
          aggregateType: "task",
          aggregateId: event.aggregateId,
          command: { _tag: "AssignTask", assignee: desk },
        },
      ]
    }),
})

/** The triage board: the task aggregate and its triage reactor, which needs a model and the recorder. */
export const triageBoard = (afterDecision?: AfterDecision) =>
  defineAgent<TaskDefs, ModelProvider | DecisionRecorder>({
    name: triageBoardName,
    catalog: taskCatalog,
    aggregates: [taskAggregate],
    reactors: [triageTasks(afterDecision)],
  })

/** Its whole wiring, from the environment: the host's connections and settings, the model and the recorder. */
export const triageBoardLayer = Layer.mergeAll(
  ModelProvider.layerFromConfig,
  DecisionRecorder.layerFromConfig,
).pipe(Layer.provideMerge(agentHostLayerFromConfig(triageBoardName)))

/** A reaction failed on purpose, as the crash plan said. */
export class PlannedFailure extends Schema.TaggedError<PlannedFailure>()("PlannedFailure", {
  reaction: Schema.Int,
}) {}

/** Follows MESH_CRASH_PLAN, one step per reaction of this process. */
const followCrashPlan = (plan: ReadonlyArray<string>): AfterDecision => {
  let reactions = 0
  return (event, decided) =>
    Effect.suspend(() => {
      const reaction = reactions++
      const step = plan[reaction] ?? "go"
      // A pipe on Linux is written synchronously: the line is out before any SIGKILL below.
      process.stdout.write(
        `reaction ${event.aggregateId} ${decided.recalled ? "recalled" : "decided"} ${step}\n`,
      )
      switch (step) {
        case "kill":
          process.kill(process.pid, "SIGKILL")
          return Effect.never
        case "fail":
          return Effect.fail(new PlannedFailure({ reaction }))
        default:
          return Effect.void
      }
    })
}

if (import.meta.main) {
  const plan = (process.env.MESH_CRASH_PLAN ?? "").split(",").filter((step) => step !== "")
  runAgentMain(triageBoard(followCrashPlan(plan)), triageBoardLayer)
}
