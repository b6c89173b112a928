import { Command, Flag } from "effect/cli"
import * as Option from "effect/Option"
import { parseSince } from "../since.ts"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/cost.ts")

/** `mesh cost [--agent a] [--since 24h]`: each agent's model cost per executed action, from the log. */
export const costCommand = Command.make(
  "cost",
  {
    agent: Flag.String("agent").pipe(Flag.optional, Flag.withDescription("only this agent")),
    since: Flag.String("since").pipe(
      Flag.filterMap(
        (text) => Option.fromUndefinedOr(parseSince(text)),
        (text) => `--since takes an ISO time (2026-11-25T10:00:00Z) or a duration (15m, 2h, 1d), not ${text}`,
      ),
      Flag.optional,
      Flag.withDescription("count decisions and actions since an ISO time or a duration ago (24h); else all"),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.cost(args)),
).pipe(
  Command.withDescription(
    "Model cost per executed action, per agent: decisions' cost, actions requested and executed, interventions, latency",
  ),
)
