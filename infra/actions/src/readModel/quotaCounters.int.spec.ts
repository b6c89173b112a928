import type { PolicyMode } from "@mesh/contracts"
import { makeKysely, openPGlite } from "@mesh/sql"
import type { Kysely } from "kysely"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type QuotaHistoryEntry, quotaInputs } from "../policy/evaluatePolicy.ts"
import { type ActionsReadModel, actionsProjection, quotaCountersOf } from "./actionsProjection.ts"

// The gate's quota counters are summed by the database; they must be the counters the pure
// `quotaInputs` computes over the same requests, whatever their age, mode, status and currency.

const now = "2026-12-03T12:00:00.000Z"
const ago = (minutes: number) => new Date(Date.parse(now) - minutes * 60_000).toISOString()

interface Row {
  readonly agent: string
  readonly minutesAgo: number
  readonly mode: PolicyMode
  readonly status: string
  readonly amount: { readonly amountMinor: number; readonly currency: string } | null
}

const rows: ReadonlyArray<Row> = [
  {
    agent: "procurement",
    minutesAgo: 5,
    mode: "auto",
    status: "succeeded",
    amount: { amountMinor: 1_000, currency: "EUR" },
  },
  {
    agent: "procurement",
    minutesAgo: 30,
    mode: "require-approval",
    status: "awaiting-approval",
    amount: { amountMinor: 2_500, currency: "EUR" },
  },
  // Refused, lapsed, failed or compensated: counted as an action, its money not spent.
  {
    agent: "procurement",
    minutesAgo: 40,
    mode: "require-approval",
    status: "rejected",
    amount: { amountMinor: 9_000, currency: "EUR" },
  },
  {
    agent: "procurement",
    minutesAgo: 45,
    mode: "auto",
    status: "compensated",
    amount: { amountMinor: 700, currency: "EUR" },
  },
  {
    agent: "procurement",
    minutesAgo: 50,
    mode: "auto",
    status: "failed",
    amount: { amountMinor: 300, currency: "EUR" },
  },
  // Denied requests count for nothing.
  {
    agent: "procurement",
    minutesAgo: 10,
    mode: "deny",
    status: "denied",
    amount: { amountMinor: 50_000, currency: "EUR" },
  },
  // Older than an hour: spend only; older than a day: nothing.
  {
    agent: "procurement",
    minutesAgo: 90,
    mode: "auto",
    status: "succeeded",
    amount: { amountMinor: 4_000, currency: "EUR" },
  },
  {
    agent: "procurement",
    minutesAgo: 25 * 60,
    mode: "auto",
    status: "succeeded",
    amount: { amountMinor: 8_000, currency: "EUR" },
  },
  // Another currency, no amount, and another agent's request.
  {
    agent: "procurement",
    minutesAgo: 15,
    mode: "auto",
    status: "succeeded",
    amount: { amountMinor: 600, currency: "USD" },
  },
  { agent: "procurement", minutesAgo: 20, mode: "notify", status: "succeeded", amount: null },
  {
    agent: "customer-ops",
    minutesAgo: 1,
    mode: "auto",
    status: "succeeded",
    amount: { amountMinor: 123, currency: "EUR" },
  },
]

const unspent = new Set(["denied", "rejected", "expired", "failed", "compensated"])
const history: ReadonlyArray<QuotaHistoryEntry> = rows.map((r) => ({
  agent: r.agent,
  requestedAt: ago(r.minutesAgo),
  amount: unspent.has(r.status) ? null : r.amount,
  mode: r.mode,
}))

let db: Kysely<ActionsReadModel>
let close: () => Promise<void>

beforeAll(async () => {
  const pglite = await openPGlite()
  close = pglite.close
  db = makeKysely<ActionsReadModel>(pglite)
  await db
    .transaction()
    .execute((trx) => actionsProjection.createTables(trx, { schema: "public", rebuild: false }))
  await db
    .insertInto("actions")
    .values(
      rows.map((r, i) => ({
        agent: r.agent,
        action_id: `a-${i}`,
        kind: "payment.refund",
        skill: "refund",
        status: r.status,
        mode: r.mode,
        rule: "r",
        policy_reason: "r",
        policy_workflow: "w",
        policy_version: "1",
        parameters: "{}",
        parameters_hash: "h",
        amount_minor: r.amount?.amountMinor ?? null,
        currency: r.amount?.currency ?? null,
        requested_at: ago(r.minutesAgo),
        expires_at: null,
        attempts: 0,
        reason: null,
        decided_by: null,
        external_ref: null,
        saga_id: null,
        updated_at: now,
      })),
    )
    .execute()
})
afterAll(async () => {
  await close()
})

describe("the gate's quota counters from the actions read model", () => {
  it.each([["EUR"], ["USD"], ["GBP"], [null]] as const)(
    "are the counters quotaInputs computes over the same requests (currency %s)",
    async (currency) => {
      const counted = await quotaCountersOf(db, "procurement", now, currency)
      expect(counted).toStrictEqual(quotaInputs(history, "procurement", now, currency))
    },
  )

  it("counts seven actions in the last hour and 75 EUR spent today for the procurement rows", async () => {
    expect(await quotaCountersOf(db, "procurement", now, "EUR")).toStrictEqual({
      actionsLastHour: 7,
      spendToday: { amountMinor: 1_000 + 2_500 + 4_000, currency: "EUR" },
    })
  })

  it("names a malformed instant", async () => {
    await expect(quotaCountersOf(db, "procurement", "noon", "EUR")).rejects.toThrow(/not an ISO instant/)
  })
})
