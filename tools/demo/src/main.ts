import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { fullDay } from "./day/plan.ts"
import { runShopDay } from "./shopDay.ts"

// `pnpm demo [--tickets N] [--orders N] [--products N] [--seed S] [--speed X] [--keep] [--no-faults] [--kills N] [--json]`:
// a shop's day on the mesh, each agent its own process, on embedded defaults (see shopDay.ts).

const positive = (name: string) =>
  Flag.filter(
    (n: number) => Number.isInteger(n) && n >= 1,
    (n) => `--${name} must be a whole number of at least 1, not ${n}`,
  )

const demo = Command.make(
  "demo",
  {
    tickets: Flag.Int("tickets").pipe(
      positive("tickets"),
      Flag.withDefault(fullDay.tickets),
      Flag.withDescription("tickets customers open during the day (follow-ups and redeliveries come on top)"),
    ),
    orders: Flag.Int("orders").pipe(
      positive("orders"),
      Flag.withDefault(fullDay.orders),
      Flag.withDescription("orders placed at the storefront"),
    ),
    products: Flag.Int("products").pipe(
      Flag.filter(
        (n) => Number.isInteger(n) && n >= 1 && n <= 999,
        (n) => `--products must be 1-999, not ${n}`,
      ),
      Flag.withDefault(fullDay.products),
      Flag.withDescription("products in the catalogue"),
    ),
    seed: Flag.Int("seed").pipe(
      Flag.withDefault(1),
      Flag.withDescription("the day's seed: the same seed plays the same day"),
    ),
    speed: Flag.Finite("speed").pipe(
      Flag.filter(
        (n) => n > 0 && n <= 100,
        (n) => `--speed must be above 0 and at most 100, not ${n}`,
      ),
      Flag.withDefault(1),
      Flag.withDescription("how fast the day's script plays (1: 30 s of shop activity; 2: 15 s)"),
    ),
    keep: Flag.Boolean("keep").pipe(
      Flag.withDefault(false),
      Flag.withDescription(
        "leave the mesh running after the summary, for `pnpm mesh approvals` and a second look",
      ),
    ),
    faults: Flag.Boolean("faults").pipe(
      Flag.withDefault(true),
      Flag.withDescription("the outside world's faults and latency (`--no-faults`: a perfect day)"),
    ),
    kills: Flag.Int("kills").pipe(
      Flag.filter(
        (n) => Number.isInteger(n) && n >= 0 && n <= 100,
        (n) => `--kills must be 0-100, not ${n}`,
      ),
      Flag.withDefault(0),
      Flag.withDescription(
        "kill an agent process with SIGKILL this many times during the day; each is restarted",
      ),
    ),
    json: Flag.Boolean("json").pipe(
      Flag.withDefault(false),
      Flag.withDescription("print the outcome as one JSON object"),
    ),
  },
  (args) =>
    Effect.promise(() =>
      runShopDay({
        size: { tickets: args.tickets, orders: args.orders, products: args.products },
        seed: args.seed,
        speed: args.speed,
        keep: args.keep,
        faults: args.faults,
        output: args.json ? "json" : "text",
        kills: args.kills,
      }),
    ).pipe(
      // A failed check is the demo's failure: the day did something the mesh promises it never does.
      Effect.tap((outcome) =>
        Effect.sync(() => {
          process.exitCode = outcome.summary.checks.some((c) => !c.ok) ? 3 : 0
        }),
      ),
    ),
).pipe(
  Command.withDescription("Play a shop's day on the mesh: every agent its own process, on embedded defaults"),
)

NodeRuntime.runMain(Command.run(demo, { version: "0.1.0" }).pipe(Effect.provide(NodeServices.layer)))
