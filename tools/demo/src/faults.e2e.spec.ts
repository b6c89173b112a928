import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findRepoRoot, workspaceNode } from "@mesh/stack"
import { useNatsServer, useQuietLane } from "@mesh/stack/vitest"
import { afterAll, describe, expect, it } from "vitest"
import type { ShopDayOutcome } from "./shopDay.ts"

// The shop's day survives its agents being killed: the same day is played once undisturbed and
// once with ten SIGKILLs of agent processes at seeded moments (the demo restarts each on the same
// port and store, as Kubernetes restarts a pod). The killed day must pass every check the
// undisturbed one passes (each message handled once, one effect per key, no refund without a
// person, nothing oversold, every causation in the log) and reach the same totals wherever no race
// decides. Its own lane: each kill leaves the messages the dead process held to the ack deadline.

// Timed: one such file at a time (vitest.config.ts).
useQuietLane()
const nats = useNatsServer()
const dataDir = mkdtempSync(join(tmpdir(), "shop-day-kills-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const playDay = (kills: number) =>
  new Promise<{ outcome: ShopDayOutcome | undefined; log: string }>((resolve) =>
    execFile(
      workspaceNode(),
      [
        join(findRepoRoot(), "tools", "demo", "src", "main.ts"),
        ...["--tickets", "60", "--orders", "30", "--products", "12", "--seed", "5", "--json"],
        ...["--kills", String(kills)],
      ],
      {
        env: { ...process.env, MESH_NATS_URL: nats.url, MESH_DATA_DIR: dataDir },
        timeout: 12 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (_error, stdout, stderr) => {
        const last = stdout.trim().split("\n").at(-1) ?? ""
        resolve({
          outcome: last.startsWith("{") ? (JSON.parse(last) as ShopDayOutcome) : undefined,
          log: `${stderr.slice(-3000)}\n${stdout.slice(-2000)}`,
        })
      },
    ),
  )

describe("the shop's day under kill -9", () => {
  it(
    "passes every check with ten agent processes killed, and reaches the undisturbed day's totals",
    async () => {
      const calm = await playDay(0)
      expect(calm.outcome, calm.log).toBeDefined()
      const killed = await playDay(10)
      expect(killed.outcome, killed.log).toBeDefined()
      const [before, after] = [calm.outcome as ShopDayOutcome, killed.outcome as ShopDayOutcome]

      // The kills happened, across more than one agent, and every process came back.
      expect(after.kills).toHaveLength(10)
      expect(new Set(after.kills.map((k) => k.agent)).size).toBeGreaterThan(1)
      expect(Object.values(after.restarts).reduce((a, b) => a + b, 0)).toBe(10)
      expect(after.unsettled).toEqual([])

      // Every check of the undisturbed day holds.
      expect(before.summary.checks.filter((c) => !c.ok)).toEqual([])
      expect(after.summary.checks.filter((c) => !c.ok)).toEqual([])
      expect(after.summary.checks.map((c) => c.name)).toEqual(before.summary.checks.map((c) => c.name))

      // The same totals where no race decides: every ticket opened and every message handled once,
      // triaged alike; every order in the log; every listing published.
      expect(after.summary.tickets.opened).toBe(before.summary.tickets.opened)
      expect(after.summary.tickets.messages).toBe(before.summary.tickets.messages)
      expect(after.summary.tickets.waiting).toBe(0)
      expect(Object.keys(after.summary.outcomes).sort()).toEqual(Object.keys(before.summary.outcomes).sort())
      for (const [id, outcome] of Object.entries(after.summary.outcomes))
        expect({ id, intent: outcome.intent }).toEqual({ id, intent: before.summary.outcomes[id]?.intent })
      expect(after.summary.shop.ordersPlaced).toBe(before.summary.shop.ordersPlaced)
      expect(after.world.ordersPaid).toBe(before.world.ordersPaid)
      expect(after.summary.shop.listingsPublished).toBe(before.summary.shop.listingsPublished)
      expect(after.world.errors).toEqual([])
    },
    14 * 60_000,
  )
})
