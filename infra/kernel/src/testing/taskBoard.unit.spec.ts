import { describe, it } from "vitest"
import { DeciderSpecification } from "../deciders/specification.ts"
import { boardDecider, taskDecider } from "./taskBoard.ts"

const task = DeciderSpecification.for(taskDecider)
const opened = { type: "TaskOpened", payload: { title: "Restock lamps" } } as const
const assigned = { type: "TaskAssigned", payload: { assignee: "ana" } } as const
const completed = { type: "TaskCompleted", payload: { by: "ana" } } as const

describe("task decider", () => {
  it("opens a task", () => {
    task.given([]).when({ _tag: "OpenTask", title: "Restock lamps" }).thenEmits([opened])
  })

  it("does not open a task twice", () => {
    task.given([opened]).when({ _tag: "OpenTask", title: "Restock lamps" }).thenNothingHappens()
  })

  it("completes an assigned task by its assignee", () => {
    task.given([opened, assigned]).when({ _tag: "CompleteTask", by: "ana" }).thenEmits([completed])
  })

  it("refuses to complete an unassigned task, as an event", () => {
    task
      .given([opened])
      .when({ _tag: "CompleteTask", by: "ana" })
      .thenEmits([{ type: "TaskCompletionRefused", payload: { reason: "unassigned" } }])
  })

  it("refuses a completion by someone else", () => {
    task
      .given([opened, assigned])
      .when({ _tag: "CompleteTask", by: "bo" })
      .thenEmits([{ type: "TaskCompletionRefused", payload: { reason: "not-the-assignee" } }])
  })

  it("ignores completing a done task", () => {
    task.given([opened, assigned, completed]).when({ _tag: "CompleteTask", by: "ana" }).thenNothingHappens()
  })

  it("treats a command for a missing task as bad input", () => {
    task.given([]).when({ _tag: "AssignTask", assignee: "ana" }).thenThrows("task does not exist")
  })
})

describe("board decider", () => {
  it("counts every tally it is told", () => {
    DeciderSpecification.for(boardDecider)
      .given([{ type: "CompletionTallied", payload: { taskId: "t1" } }])
      .when({ _tag: "TallyCompletion", taskId: "t1" })
      .thenEmits([{ type: "CompletionTallied", payload: { taskId: "t1" } }])
  })
})
