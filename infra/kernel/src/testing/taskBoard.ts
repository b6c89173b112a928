import { defineEvent, makeCatalog, NonEmpty } from "@mesh/contracts"
import { Effect, Schema } from "effect"
import type { AggregateDefinition, DecidedEvent } from "../deciders/commandHandler.ts"
import type { Decider } from "../deciders/decider.ts"
import { defineProjection } from "../projections/projection.ts"
import { defineReactor } from "../reactors/reactor.ts"

// The kernel's own test aggregate: small enough to read at a glance, shaped like a real one
// (a status-discriminated state, a business rejection as an event, a reaction across aggregates).

const domain = "content" as const
const producer = "kernel-tests"

/** A task was opened. */
export const TaskOpened = defineEvent({
  type: "TaskOpened",
  domain,
  aggregateType: "task",
  payload: Schema.Struct({ title: NonEmpty }),
  summary: "A task was opened.",
  producer,
})
/** A task was given to someone. */
export const TaskAssigned = defineEvent({
  type: "TaskAssigned",
  domain,
  aggregateType: "task",
  payload: Schema.Struct({ assignee: NonEmpty }),
  summary: "A task was assigned.",
  producer,
})
/** A task was completed. */
export const TaskCompleted = defineEvent({
  type: "TaskCompleted",
  domain,
  aggregateType: "task",
  payload: Schema.Struct({ by: NonEmpty }),
  summary: "A task was completed.",
  producer,
})
/** Completing a task was refused: a business outcome, not an error. */
export const TaskCompletionRefused = defineEvent({
  type: "TaskCompletionRefused",
  domain,
  aggregateType: "task",
  payload: Schema.Struct({ reason: Schema.Literals(["unassigned", "not-the-assignee"]) }),
  summary: "Completing the task was refused.",
  producer,
})
/** The board counted a completed task (deliberately not deduplicated by the domain). */
export const CompletionTallied = defineEvent({
  type: "CompletionTallied",
  domain,
  aggregateType: "board",
  payload: Schema.Struct({ taskId: NonEmpty }),
  summary: "The board counted a completed task.",
  producer,
})

/** The test catalogue. */
export const taskCatalog = makeCatalog([
  TaskOpened,
  TaskAssigned,
  TaskCompleted,
  TaskCompletionRefused,
  CompletionTallied,
])
type TaskDefs = (typeof taskCatalog.definitions)[number]

/** Commands of the task aggregate. */
export type TaskCommand =
  | { readonly _tag: "OpenTask"; readonly title: string }
  | { readonly _tag: "AssignTask"; readonly assignee: string }
  | { readonly _tag: "CompleteTask"; readonly by: string }

/** State of a task, discriminated on status. */
export type TaskState =
  | { readonly status: "absent" }
  | { readonly status: "open"; readonly title: string; readonly assignee: string | null }
  | { readonly status: "done"; readonly title: string; readonly by: string }

type TaskEvent = DecidedEvent<TaskDefs>

/** The task decider. */
export const taskDecider: Decider<TaskCommand, TaskEvent, TaskState> = {
  initialState: () => ({ status: "absent" }),
  evolve: (state, event) => {
    switch (event.type) {
      case "TaskOpened":
        return { status: "open", title: event.payload.title, assignee: null }
      case "TaskAssigned":
        return state.status === "open" ? { ...state, assignee: event.payload.assignee } : state
      case "TaskCompleted":
        return state.status === "open" ? { status: "done", title: state.title, by: event.payload.by } : state
      case "TaskCompletionRefused":
      case "CompletionTallied":
        return state
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "OpenTask":
        return state.status === "absent" ? [{ type: "TaskOpened", payload: { title: command.title } }] : []
      case "AssignTask":
        if (state.status === "absent") throw new Error("task does not exist")
        return state.status === "open"
          ? [{ type: "TaskAssigned", payload: { assignee: command.assignee } }]
          : []
      case "CompleteTask":
        if (state.status === "absent") throw new Error("task does not exist")
        if (state.status === "done") return []
        if (state.assignee === null)
          return [{ type: "TaskCompletionRefused", payload: { reason: "unassigned" } }]
        if (state.assignee !== command.by) {
          return [{ type: "TaskCompletionRefused", payload: { reason: "not-the-assignee" } }]
        }
        return [{ type: "TaskCompleted", payload: { by: command.by } }]
    }
  },
}

/** State of the board: how many completions it counted. */
export interface BoardState {
  readonly completions: number
}

/** The board decider: counts every tally command it gets (idempotency is the kernel's job). */
export const boardDecider: Decider<
  { readonly _tag: "TallyCompletion"; readonly taskId: string },
  TaskEvent,
  BoardState
> = {
  initialState: () => ({ completions: 0 }),
  evolve: (state, event) =>
    event.type === "CompletionTallied" ? { completions: state.completions + 1 } : state,
  decide: (command) => [{ type: "CompletionTallied", payload: { taskId: command.taskId } }],
}

/** The task aggregate, snapshotting every 10 events. */
export const taskAggregate: AggregateDefinition<TaskDefs, TaskCommand, TaskState> = {
  domain,
  type: "task",
  decider: taskDecider,
  snapshots: {
    every: 10,
    version: 1,
    schema: Schema.Union([
      Schema.Struct({ status: Schema.Literal("absent") }),
      Schema.Struct({
        status: Schema.Literal("open"),
        title: Schema.String,
        assignee: Schema.NullOr(Schema.String),
      }),
      Schema.Struct({ status: Schema.Literal("done"), title: Schema.String, by: Schema.String }),
    ]),
  },
}

/** The board aggregate. */
export const boardAggregate: AggregateDefinition<
  TaskDefs,
  { readonly _tag: "TallyCompletion"; readonly taskId: string },
  BoardState
> = { domain, type: "board", decider: boardDecider }

/** Tallies every completed task on board "main". */
export const tallyCompletions = defineReactor<TaskDefs>({
  name: "tally-completions",
  consumes: { domain },
  eventTypes: ["TaskCompleted"],
  react: (event) =>
    Effect.succeed([
      {
        aggregateType: "board",
        aggregateId: "main",
        command: { _tag: "TallyCompletion", taskId: event.aggregateId },
      },
    ]),
  maxDeliveries: 5,
  backoff: { initialMs: 50, maxMs: 200, factor: 2 },
})

/** The task list read model of the test agent. */
export interface TaskListReadModel {
  task_list: { task_id: string; title: string; status: string; assignee: string | null }
}

/** A read model of the tasks: one row per task with its status and assignee. */
export const taskListProjection = defineProjection<TaskDefs, TaskListReadModel>({
  name: "task-list",
  version: 1,
  streams: [{ domain }],
  tables: ["task_list"],
  onFailure: "stop",
  lingerMs: 5,
  createTables: async (trx) => {
    await trx.schema
      .createTable("task_list")
      .addColumn("task_id", "text", (c) => c.primaryKey())
      .addColumn("title", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("assignee", "text")
      .execute()
  },
  apply: async (trx, events) => {
    for (const { event } of events) {
      switch (event.type) {
        case "TaskOpened":
          await trx
            .insertInto("task_list")
            .values({
              task_id: event.aggregateId,
              title: event.payload.title,
              status: "open",
              assignee: null,
            })
            .execute()
          break
        case "TaskAssigned":
          await trx
            .updateTable("task_list")
            .set({ assignee: event.payload.assignee })
            .where("task_id", "=", event.aggregateId)
            .execute()
          break
        case "TaskCompleted":
          await trx
            .updateTable("task_list")
            .set({ status: "done" })
            .where("task_id", "=", event.aggregateId)
            .execute()
          break
        case "TaskCompletionRefused":
        case "CompletionTallied":
          break
      }
    }
  },
})
