import { Argument, Command, Flag } from "effect/cli"
import * as Option from "effect/Option"
import { parseSince } from "../since.ts"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

/** The mesh's domains, as `@mesh/contracts` names them (a unit test keeps the two equal). */
export const domainNames = [
  "content",
  "customer",
  "procurement",
  "actions",
  "decisions",
  "requests",
  "registers",
] as const

const domainArgument = Argument.Literals("domain", domainNames).pipe(
  Argument.withDescription(`one of ${domainNames.join(", ")}`),
)

const load = () => import("../handlers/inspect.ts")

/** `mesh tail <domain>`: a domain's events from a sequence or a time, then live. */
export const tailCommand = Command.make(
  "tail",
  {
    domain: domainArgument,
    from: Flag.Int("from").pipe(Flag.withDefault(1), Flag.withDescription("first stream sequence")),
    since: Flag.String("since").pipe(
      Flag.filterMap(
        (text) => Option.fromUndefinedOr(parseSince(text)),
        (text) => `--since takes an ISO time (2026-11-25T10:00:00Z) or a duration (15m, 2h, 1d), not ${text}`,
      ),
      Flag.optional,
      Flag.withDescription("start at events stored since an ISO time or a duration ago (15m, 2h, 1d)"),
    ),
    noFollow: Flag.Boolean("no-follow").pipe(
      Flag.withDefault(false),
      Flag.withDescription("print what is there, then exit"),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.tail(args)),
).pipe(Command.withDescription("Print a domain's events and follow it live"))

/** `mesh history <domain> <type> <id>`: an aggregate's history, upcast and decoded. */
export const historyCommand = Command.make(
  "history",
  {
    domain: domainArgument,
    aggregateType: Argument.String("aggregate-type"),
    aggregateId: Argument.String("aggregate-id"),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.history(args)),
).pipe(Command.withDescription("Print one aggregate's history"))

/** `mesh dead-letters`: what consumers gave up on, and why. */
export const deadLettersCommand = Command.make(
  "dead-letters",
  { json: jsonFlag, natsUrl: natsUrlFlag, namespace: namespaceFlag },
  (args) => lazily(load, (h) => h.deadLetters(args)),
).pipe(Command.withDescription("List dead-lettered events with their reasons"))

const loadTrace = () => import("../handlers/trace.ts")

/** `mesh trace <correlation-id>`: a chain's causal tree across every agent's streams. */
export const traceCommand = Command.make(
  "trace",
  {
    correlationId: Argument.String("correlation-id").pipe(
      Argument.withDescription("the chain's id: its outside request's id (`mesh tail requests` shows them)"),
    ),
    since: Flag.String("since").pipe(
      Flag.filterMap(
        (text) => Option.fromUndefinedOr(parseSince(text)),
        (text) => `--since takes an ISO time (2026-11-25T10:00:00Z) or a duration (15m, 2h, 1d), not ${text}`,
      ),
      Flag.optional,
      Flag.withDescription("search only events stored since an ISO time or a duration ago (15m, 2h, 1d)"),
    ),
    format: Flag.Literals("format", ["tree", "mermaid"]).pipe(
      Flag.withDefault("tree" as const),
      Flag.withDescription("tree (the terminal) or mermaid (a sequence diagram between the writers)"),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(loadTrace, (h) => h.trace(args)),
).pipe(
  Command.withDescription(
    "Print a chain's causal tree: every event, recorded request, decision, verdict, approval and action of one correlation id, across agents, with timings",
  ),
)
