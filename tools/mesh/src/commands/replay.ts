import { Argument, Command, Flag } from "effect/cli"
import * as Option from "effect/Option"
import type { ReplayUntil } from "../handlers/replay.ts"
import { parseSince } from "../since.ts"
import { domainNames } from "./inspect.ts"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/replay.ts")

/** `--until`: a stream sequence (a whole number) or an instant (an ISO time, or a duration ago). */
const parseUntil = (text: string): ReplayUntil | undefined => {
  if (/^\d+$/.test(text)) return { _tag: "Sequence", sequence: Number(text) }
  const since = parseSince(text)
  return since === undefined ? undefined : { _tag: "Time", since }
}

/** `mesh replay <domain>`: a stream folded through the agents' deciders, the state after each event. */
export const replayCommand = Command.make(
  "replay",
  {
    domain: Argument.Literals("domain", domainNames).pipe(
      Argument.withDescription(`one of ${domainNames.join(", ")}`),
    ),
    aggregate: Flag.String("aggregate").pipe(
      Flag.filterMap(
        (text) => Option.some(text).pipe(Option.filter((t) => /^[^/\s]+\/[^\s]+$/.test(t))),
        (text) => `--aggregate takes <aggregate-type>/<aggregate-id> (ticket/tk-1a2b), not ${text}`,
      ),
      Flag.optional,
      Flag.withDescription("show only this aggregate's events, each with its whole state (type/id)"),
    ),
    correlation: Flag.String("correlation").pipe(
      Flag.optional,
      Flag.withDescription("show only the events of this chain (its correlation id)"),
    ),
    from: Flag.Int("from").pipe(
      Flag.withDefault(1),
      Flag.withDescription("show events from this sequence (everything before is still folded)"),
    ),
    until: Flag.String("until").pipe(
      Flag.filterMap(
        (text) => Option.fromUndefinedOr(parseUntil(text)),
        (text) =>
          `--until takes a stream sequence (1234), an ISO time (2026-11-25T10:00:00Z) or a duration ago (15m, 2h), not ${text}`,
      ),
      Flag.optional,
      Flag.withDescription("stop after this sequence, or after events that occurred by this time"),
    ),
    step: Flag.Boolean("step").pipe(
      Flag.withDefault(false),
      Flag.withDescription(
        "step through the events on the terminal: n/→ next, p/← back, g <sequence> Enter go to, q quit; each with its state changes and its decision's inputs",
      ),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.replay(args)),
).pipe(
  Command.withDescription(
    "Replay a domain's stream through the agents' deciders and print each event with its aggregate's state after it; reads only, calls nothing",
  ),
)
