import { MeshNamespace, makeEventLog, NatsClient } from "@mesh/eventlog"
import { AgentSettings, deterministicUuid, makeCommandHandler, runAgentMain, startAgent } from "@mesh/kernel"
import { taskAggregate, taskCatalog } from "@mesh/kernel/testing/taskBoard"
import { ReadModelDb } from "@mesh/sql"
import { uniqueNamespace } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { Effect, Layer, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { decisionIdFor } from "./decisions/decideOnce.ts"
import { DecisionRecorder } from "./decisions/decisionRecorder.ts"
import { ModelProvider } from "./modelProvider.ts"
import { triageBoard as defineTriageBoard } from "./testing/triageBoardAgent.ts"

// An agent whose reactor needs a model and the decision recorder, as the domain agents will: it
// triages each new task with a skill, decided once per task event (`decideOnce`), and assigns the
// task to the desk the model chose. The test supplies the layers; the host supplies nothing the
// agent did not ask for.
const triageBoard = defineTriageBoard()

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
    const { desk, cause } = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* startAgent(triageBoard)
          const client = yield* NatsClient
          const tasks = makeCommandHandler(
            makeEventLog({ nats: client, catalog: taskCatalog, namespace }),
            taskAggregate,
          )
          const opened = yield* tasks.handle({
            commandId: deterministicUuid(`${namespace}-open`, 1),
            aggregateId: "t1",
            command: { _tag: "OpenTask", title: "Where is my parcel? It was due on Monday." },
            issuedAt: 1_700_000_000_000,
            metadata: { correlationId: "c-1", causationId: null, actor: { kind: "human", id: "ana" } },
          })
          const cause = opened.events[0]!
          const deadline = Date.now() + 20_000
          for (;;) {
            const { state } = yield* tasks.state("t1")
            if (state.status === "open" && state.assignee !== null) return { desk: state.assignee, cause }
            if (Date.now() > deadline) return { desk: "never assigned", cause }
            yield* Effect.sleep("50 millis")
          }
        }),
      ).pipe(Effect.provide(layer)),
    )
    expect(desk).toBe("delivery")

    const recorded = await Effect.runPromise(
      Effect.flatMap(Effect.service(DecisionRecorder), (recorder) =>
        recorder.load("triage-board", decisionIdFor("sortMessage", cause.eventId)),
      ).pipe(Effect.provide(DecisionRecorder.layerFromConfig.pipe(Layer.provide(hostLayers(namespace))))),
    )
    expect(recorded.invocation.skill).toBe("sortMessage")
    // The decision joins the task's causal chain: caused by the event it answers, in its correlation.
    expect(recorded.event).toMatchObject({
      causationId: cause.eventId,
      correlationId: "c-1",
      actor: { kind: "agent", id: "triage-board" },
    })
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
