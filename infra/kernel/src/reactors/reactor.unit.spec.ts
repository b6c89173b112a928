import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { taskCatalog } from "../testing/taskBoard.ts"
import { type ReactorDefinition, reactorSubjects, runsByAggregate } from "./reactor.ts"

type TaskReactor = ReactorDefinition<(typeof taskCatalog.definitions)[number], never, never>
const reactor = (consumes: TaskReactor["consumes"], eventTypes: TaskReactor["eventTypes"]): TaskReactor => ({
  name: "probe",
  consumes,
  eventTypes,
  react: () => Effect.succeed([]),
})

describe("reactorSubjects", () => {
  it("reads the subjects of its event types' aggregate types, sorted, when it declares nothing", () => {
    expect(
      reactorSubjects(
        "ns",
        taskCatalog,
        reactor({ domain: "content" }, ["CompletionTallied", "TaskCompleted"]),
      ),
    ).toEqual(["ns.content.board.*", "ns.content.task.*"])
  })

  it("reads only the declared aggregate types' subjects, in whatever namespace it runs", () => {
    // A platform stream's aggregate type names the agent: one agent's actions, not every agent's.
    const own = reactor({ domain: "actions", aggregateTypes: ["customer-ops"] }, [])
    expect(reactorSubjects("shopa", taskCatalog, own)).toEqual(["shopa.actions.customer-ops.*"])
    expect(reactorSubjects("fork1", taskCatalog, own)).toEqual(["fork1.actions.customer-ops.*"])
    const two = reactor(
      { domain: "actions", aggregateTypes: ["procurement", "content-ops", "procurement"] },
      [],
    )
    expect(reactorSubjects("ns", taskCatalog, two)).toEqual([
      "ns.actions.content-ops.*",
      "ns.actions.procurement.*",
    ])
  })

  it("takes a declared filter subject over everything else, and the whole domain when nothing narrows it", () => {
    expect(
      reactorSubjects(
        "ns",
        taskCatalog,
        reactor({ domain: "content", filterSubject: "ns.content.task.t-1", aggregateTypes: ["board"] }, []),
      ),
    ).toBe("ns.content.task.t-1")
    expect(reactorSubjects("ns", taskCatalog, reactor({ domain: "actions", aggregateTypes: [] }, []))).toBe(
      "ns.actions.>",
    )
  })
})

describe("runsByAggregate", () => {
  it("splits a reaction's commands where the aggregate they address changes, keeping their order", () => {
    const to = (aggregateType: string, aggregateId: string) => ({ aggregateType, aggregateId })
    expect(
      runsByAggregate([
        to("ticket", "a"),
        to("ticket", "a"),
        to("ticket", "b"),
        to("order", "b"),
        to("ticket", "a"),
        to("ticket", "a"),
      ]),
    ).toEqual([
      { aggregateType: "ticket", aggregateId: "a", from: 0, to: 2 },
      { aggregateType: "ticket", aggregateId: "b", from: 2, to: 3 },
      { aggregateType: "order", aggregateId: "b", from: 3, to: 4 },
      { aggregateType: "ticket", aggregateId: "a", from: 4, to: 6 },
    ])
    expect(runsByAggregate([])).toEqual([])
  })
})
