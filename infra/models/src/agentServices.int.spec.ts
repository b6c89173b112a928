import { MeshNamespace, makeEventLog, NatsClient } from "@mesh/eventlog"
import {
  AgentSettings,
  defineAgent,
  deterministicUuid,
  makeCommandHandler,
  type ReactorDefinition,
  runAgentMain,
  startAgent,
} from "@mesh/kernel"
import { taskAggregate, taskCatalog } from "@mesh/kernel/testing/taskBoard"
import { ReadModelDb } from "@mesh/sql"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Layer, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { DecisionRecorder } from "./decisions/decisionRecorder.ts"
import { ModelProvider } from "./modelProvider.ts"
import { triageTicket } from "./skills/catalog.ts"
import { runSkill } from "./skills/skill.ts"

// An agent whose reactor needs a model and the decision recorder, as the domain agents will: it
// triages each new task with a skill, records the decision, and assigns the task to the desk the
// model chose. The test supplies the layers; the host supplies nothing the agent did not ask for.

type TaskDefs = (typeof taskCatalog.definitions)[number]

const triageTasks: ReactorDefinition<TaskDefs, unknown, ModelProvider | DecisionRecorder> = {
  name: "triage-tasks",
  consumes: { domain: "content" },
  eventTypes: ["TaskOpened"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "TaskOpened") return []
      const run = yield* runSkill(triageTicket, { subject: event.payload.title, body: event.payload.title })
      const recorder = yield* DecisionRecorder
      yield* recorder.record({
        agent: "triage-board",
        decisionId: `triage-${event.aggregateId}`,
        invocation: run.invocation,
        metadata: {
          correlationId: event.correlationId,
          causationId: event.eventId,
          actor: { kind: "agent", id: "triage-board" },
        },
      })
      const desk = run.output === null ? "human" : run.output.intent
      return [
        {
          aggregateType: "task",
          aggregateId: event.aggregateId,
          command: { _tag: "AssignTask", assignee: desk },
        },
      ]
    }),
}

const triageBoard = defineAgent<TaskDefs, ModelProvider | DecisionRecorder>({
  name: "triage-board",
  catalog: taskCatalog,
  aggregates: [taskAggregate],
  reactors: [triageTasks],
})

const nats = useNatsServer()

const hostLayers = (namespace: string) =>
  Layer.mergeAll(
    NatsClient.layer(nats.url, "triage-board"),
    ReadModelDb.layer(Redacted.make("pglite:memory")),
    MeshNamespace.layer(namespace),
    AgentSettings.layer({ httpPort: 0 }),
  )

describe("an agent's services", () => {
  it("reach its reactor from the layers the test supplies", async () => {
    const namespace = uniqueNamespace("services")
    const layer = Layer.mergeAll(ModelProvider.layerOffline, DecisionRecorder.layerFromConfig).pipe(
      Layer.provideMerge(hostLayers(namespace)),
    )
    const assigned = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* startAgent(triageBoard)
          const client = yield* NatsClient
          const tasks = makeCommandHandler(
            makeEventLog({ nats: client, catalog: taskCatalog, namespace }),
            taskAggregate,
          )
          yield* tasks.handle({
            commandId: deterministicUuid(`${namespace}-open`, 1),
            aggregateId: "t1",
            command: { _tag: "OpenTask", title: "Where is my parcel? It was due on Monday." },
            issuedAt: 1_700_000_000_000,
            metadata: { correlationId: "c-1", causationId: null, actor: { kind: "human", id: "ana" } },
          })
          const deadline = Date.now() + 20_000
          for (;;) {
            const { state } = yield* tasks.state("t1")
            if (state.status === "open" && state.assignee !== null) return state.assignee
            if (Date.now() > deadline) return "never assigned"
            yield* Effect.sleep("50 millis")
          }
        }),
      ).pipe(Effect.provide(layer)),
    )
    expect(assigned).toBe("order_status")

    const recorded = await Effect.runPromise(
      Effect.flatMap(Effect.service(DecisionRecorder), (recorder) =>
        recorder.load("triage-board", "triage-t1"),
      ).pipe(Effect.provide(DecisionRecorder.layerFromConfig.pipe(Layer.provide(hostLayers(namespace))))),
    )
    expect(recorded.invocation.skill).toBe("triageTicket")
    expect(recorded.event.causationId).not.toBeNull()
  })

  it("cannot be left out of the layer: the program does not compile", () => {
    const withoutRecorder = Layer.mergeAll(ModelProvider.layerOffline, hostLayers("never-run"))
    // Never called: the point is the type error, which `tsc -b` checks with the tests.
    const launch = () =>
      // @ts-expect-error the layer does not provide DecisionRecorder, which the triage reactor needs
      runAgentMain(triageBoard, withoutRecorder)
    expect(typeof launch).toBe("function")
  })
})
