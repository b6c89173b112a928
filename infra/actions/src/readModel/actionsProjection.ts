import {
  defineProjection,
  type Projection,
  type ProjectionEvent,
  readModelSchemaOf,
} from "@mesh/kernel/projections"
import { type Kysely, type QueryCreator, sql } from "kysely"
import type { ActionDefs } from "../action/actionCommands.ts"
import type { QuotaCounters } from "../policy/evaluatePolicy.ts"

/** One action as the approvals queue and the quota counters see it. */
export interface ActionsTable {
  agent: string
  action_id: string
  kind: string
  skill: string
  /** The action's state: pending, awaiting-approval, approved, attempting, retrying, succeeded, failed, parked, ... */
  status: string
  mode: string
  rule: string
  policy_reason: string
  policy_workflow: string
  policy_version: string
  parameters: string
  parameters_hash: string
  amount_minor: string | number | null
  currency: string | null
  requested_at: string
  expires_at: string | null
  attempts: number
  reason: string | null
  decided_by: string | null
  external_ref: string | null
  saga_id: string | null
  updated_at: string
}

/** The read model of the actions projection. */
export interface ActionsReadModel {
  actions: ActionsTable
}

type Row = ActionsTable
type Patch = Partial<Row>

const patchOf = (event: ProjectionEvent<ActionDefs>["event"]): Patch | "insert" => {
  switch (event.type) {
    case "ActionRequested":
      return "insert"
    case "ActionDenied":
      return { status: "denied", reason: event.payload.reason }
    case "ActionAwaitingApproval":
      return {
        status: "awaiting-approval",
        expires_at: event.payload.expiresAt,
        reason: event.payload.reason,
      }
    case "ActionApproved":
      return { status: "approved", decided_by: event.payload.approver, expires_at: event.payload.expiresAt }
    case "ActionApprovalRefused":
      return {}
    case "ActionRejected":
      return { status: "rejected", decided_by: event.payload.rejectedBy, reason: event.payload.reason }
    case "ActionExpired":
      return { status: "expired" }
    case "ActionAttemptStarted":
      return {
        status: event.payload.phase === "execute" ? "attempting" : "compensating",
        attempts: event.payload.attempt,
      }
    case "ActionSucceeded":
      return { status: "succeeded", external_ref: event.payload.externalRef, reason: null }
    case "ActionFailed":
      return {
        status:
          event.payload.next === "retry" ? "retrying" : event.payload.next === "fail" ? "failed" : "parked",
        reason: event.payload.failure.reason,
      }
    case "ActionParked":
      return { status: "parked", reason: event.payload.reason }
    case "ActionCompensationRequested":
      return { status: "compensation-pending", reason: event.payload.reason }
    case "ActionCompensationFailed":
      return {
        status: event.payload.next === "retry" ? "compensation-pending" : "parked",
        reason: event.payload.failure.reason,
      }
    case "ActionCompensated":
      return { status: "compensated" }
    case "ActionHumanNotified":
    case "SagaStarted":
    case "SagaStepCompleted":
    case "SagaCompensating":
    case "SagaStepCompensated":
    case "SagaCompleted":
    case "SagaCompensated":
      return {}
  }
}

/**
 * The actions read model: one row per action with its state, policy verdict and amount. It serves
 * the approvals queue (`awaiting-approval`, `parked`) and the policy quotas (actions in the last
 * hour, spend today), and it is rebuildable from the log like every read model.
 */
export const actionsProjection: Projection<ActionDefs, ActionsReadModel> = defineProjection<
  ActionDefs,
  ActionsReadModel
>({
  name: "actions",
  // Version 2: each agent's read model holds its own actions only (see `actionsProjectionWorker`);
  // an older one holding every agent's is rebuilt.
  version: 2,
  streams: [{ domain: "actions" }],
  tables: ["actions"],
  onFailure: "stop",
  lingerMs: 50,
  createTables: async (trx) => {
    await trx.schema
      .createTable("actions")
      .addColumn("agent", "text", (c) => c.notNull())
      .addColumn("action_id", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("skill", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("mode", "text", (c) => c.notNull())
      .addColumn("rule", "text", (c) => c.notNull())
      .addColumn("policy_reason", "text", (c) => c.notNull())
      .addColumn("policy_workflow", "text", (c) => c.notNull())
      .addColumn("policy_version", "text", (c) => c.notNull())
      .addColumn("parameters", "text", (c) => c.notNull())
      .addColumn("parameters_hash", "text", (c) => c.notNull())
      .addColumn("amount_minor", "bigint")
      .addColumn("currency", "text")
      .addColumn("requested_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text")
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("decided_by", "text")
      .addColumn("external_ref", "text")
      .addColumn("saga_id", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("actions_pk", ["agent", "action_id"])
      .execute()
    await trx.schema
      .createIndex("actions_by_status")
      .on("actions")
      .columns(["status", "requested_at"])
      .execute()
    await trx.schema
      .createIndex("actions_by_agent_time")
      .on("actions")
      .columns(["agent", "requested_at"])
      .execute()
  },
  apply: async (trx, events) => {
    for (const { event } of events) {
      const patch = patchOf(event)
      if (patch === "insert") {
        if (event.type !== "ActionRequested") continue
        const p = event.payload
        await trx
          .insertInto("actions")
          .values({
            agent: event.aggregateType,
            action_id: event.aggregateId,
            kind: p.kind,
            skill: p.skill,
            status: "pending",
            mode: p.policy.verdict.mode,
            rule: p.policy.verdict.rule,
            policy_reason: p.policy.verdict.reason,
            policy_workflow: p.policy.workflow,
            policy_version: p.policy.version,
            parameters: JSON.stringify(p.parameters),
            parameters_hash: p.parametersHash,
            amount_minor: p.policy.inputs.amount?.amountMinor ?? null,
            currency: p.policy.inputs.amount?.currency ?? null,
            requested_at: p.requestedAt,
            expires_at: null,
            attempts: 0,
            reason: null,
            decided_by: null,
            external_ref: null,
            saga_id: p.saga?.sagaId ?? null,
            updated_at: event.occurredAt,
          })
          // Re-applying a batch after a crash must not fail on the row it already wrote.
          .onConflict((oc) => oc.columns(["agent", "action_id"]).doNothing())
          .execute()
        continue
      }
      if (Object.keys(patch).length === 0) continue
      await trx
        .updateTable("actions")
        .set({ ...patch, updated_at: event.occurredAt })
        .where("agent", "=", event.aggregateType)
        .where("action_id", "=", event.aggregateId)
        .execute()
    }
  },
})

/** One entry of the approvals queue. */
export interface QueuedAction {
  readonly agent: string
  readonly actionId: string
  readonly kind: string
  readonly skill: string
  readonly status: "awaiting-approval" | "parked"
  readonly parameters: unknown
  readonly parametersHash: string
  readonly amount: { readonly amountMinor: number; readonly currency: string } | null
  readonly reason: string | null
  readonly policy: { readonly workflow: string; readonly version: string; readonly rule: string }
  readonly requestedAt: string
  readonly expiresAt: string | null
}

/** The actions read model of `agent` in its namespace's schema, over the process's read-model database. */
export const actionsReadModel = (
  db: Kysely<unknown>,
  namespace: string,
  agent: string,
): QueryCreator<ActionsReadModel> =>
  (db as Kysely<ActionsReadModel>).withSchema(readModelSchemaOf(namespace, agent))

/** Anything that can select from the read model: the database, a transaction, or `db.withSchema(schema)`. */
type Db = Pick<QueryCreator<ActionsReadModel>, "selectFrom">

/** The approvals queue: actions waiting for a human, oldest first. */
export const listApprovalQueue = async (db: Db, agent?: string): Promise<ReadonlyArray<QueuedAction>> => {
  let query = db
    .selectFrom("actions")
    .selectAll()
    .where("status", "in", ["awaiting-approval", "parked"])
    .orderBy("requested_at")
    .orderBy("action_id")
  if (agent !== undefined) query = query.where("agent", "=", agent)
  const rows = await query.execute()
  return rows.map((r) => ({
    agent: r.agent,
    actionId: r.action_id,
    kind: r.kind,
    skill: r.skill,
    status: r.status as QueuedAction["status"],
    parameters: JSON.parse(r.parameters),
    parametersHash: r.parameters_hash,
    amount:
      r.amount_minor === null || r.currency === null
        ? null
        : { amountMinor: Number(r.amount_minor), currency: r.currency },
    reason: r.reason,
    policy: { workflow: r.policy_workflow, version: r.policy_version, rule: r.rule },
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
  }))
}

/** Statuses whose money never left (refused, lapsed, failed) or came back (compensated). */
const unspent = ["denied", "rejected", "expired", "failed", "compensated"] as const

const hourMs = 60 * 60 * 1000

/**
 * An agent's quota counters at `now`, as the policy gate reads them: its requests in the last hour
 * and its spend in `currency` (null: the request has no amount) in the last 24 hours, denied
 * requests left out, summed by the database. The same counters as `quotaInputs` over the rows; one
 * row back instead of a day of them, whose fold grew with every action of the day. The read model
 * lags the log by a batch, so quotas are soft by the requests of the last few milliseconds.
 */
export const quotaCountersOf = async (
  db: Db,
  agent: string,
  now: string,
  currency: string | null,
): Promise<QuotaCounters> => {
  const at = Date.parse(now)
  if (Number.isNaN(at)) throw new TypeError(`now ${JSON.stringify(now)} is not an ISO instant`)
  const hourAgo = new Date(at - hourMs).toISOString()
  const dayAgo = new Date(at - 24 * hourMs).toISOString()
  const row = await db
    .selectFrom("actions")
    .select([
      sql<string>`count(*) filter (where requested_at > ${hourAgo})`.as("last_hour"),
      sql<
        string | null
      >`sum(amount_minor) filter (where currency = ${currency ?? ""} and status not in (${sql.join(unspent)}))`.as(
        "spent",
      ),
    ])
    .where("agent", "=", agent)
    .where("mode", "<>", "deny")
    .where("requested_at", ">", dayAgo)
    .executeTakeFirstOrThrow()
  return {
    actionsLastHour: Number(row.last_hour),
    spendToday: currency === null ? null : { amountMinor: Number(row.spent ?? 0), currency },
  }
}

/**
 * Actions an executor should look at although no new event may wake it: approval requests past
 * their deadline, and unfinished actions (cleared, retrying, in an attempt, compensating) that have
 * not moved since `staleBefore`. The executor's sweep drives them; driving a healthy one is a no-op.
 */
export const unfinishedActions = async (
  db: Db,
  options: {
    readonly now: string
    readonly staleBefore: string
    readonly agent?: string
    readonly limit?: number
  },
): Promise<ReadonlyArray<{ readonly agent: string; readonly actionId: string }>> => {
  let query = db
    .selectFrom("actions")
    .select(["agent", "action_id"])
    .where((eb) =>
      eb.or([
        eb.and([eb("status", "=", "awaiting-approval"), eb("expires_at", "<", options.now)]),
        eb.and([
          eb("status", "in", [
            "pending",
            "approved",
            "retrying",
            "attempting",
            "compensation-pending",
            "compensating",
          ]),
          eb("updated_at", "<", options.staleBefore),
        ]),
      ]),
    )
    .orderBy("updated_at")
    .limit(options.limit ?? 500)
  if (options.agent !== undefined) query = query.where("agent", "=", options.agent)
  const rows = await query.execute()
  return rows.map((r) => ({ agent: r.agent, actionId: r.action_id }))
}
