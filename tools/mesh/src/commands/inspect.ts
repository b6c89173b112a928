import { Argument, Command, Flag } from "effect/cli"
import * as Option from "effect/Option"
import { parseSince } from "../since.ts"
import {
  allFlag,
  dryRunFlag,
  instantFlag,
  jsonFlag,
  lazily,
  namespaceFlag,
  natsUrlFlag,
  personFlag,
} from "./shared.ts"

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

const loadDeadLetters = () => import("../handlers/deadLetters.ts")

/** Which dead letters a command takes; every filter narrows. */
const deadLetterFilters = {
  consumer: Flag.String("consumer").pipe(
    Flag.atLeast(0),
    Flag.withDescription("only those this consumer gave up (repeatable)"),
  ),
  stream: Flag.String("stream").pipe(
    Flag.optional,
    Flag.withDescription("only events of this stream (a domain such as customer, or a stream's name)"),
  ),
  type: Flag.String("type").pipe(
    Flag.atLeast(0),
    Flag.withDescription("only those holding an event of this type (repeatable)"),
  ),
  error: Flag.String("error").pipe(
    Flag.optional,
    Flag.withDescription("only those whose reason holds this text (any case)"),
  ),
  since: instantFlag("since", "only those dead-lettered since an ISO time or a duration ago"),
  until: instantFlag("until", "only those dead-lettered until an ISO time or a duration ago"),
}

/** What a bulk operation over dead letters takes besides its filters. */
const bulkFlags = {
  ...deadLetterFilters,
  all: allFlag("every dead letter"),
  dryRun: dryRunFlag,
  as: personFlag("asks"),
  json: jsonFlag,
  natsUrl: natsUrlFlag,
  namespace: namespaceFlag,
}

/** `mesh dead-letters retry`: dead letters handed back to the reactions that gave them up. */
const retryDeadLettersCommand = Command.make("retry", bulkFlags, (args) =>
  lazily(loadDeadLetters, (h) => h.retry(args)),
).pipe(
  Command.withDescription(
    "Hand the dead letters the filters take back to their consumers' reactions, oldest first, each by one instance of the agent that runs " +
      "the consumer (recorded in the log as the operator's request); those that react are marked settled, the others stay (exit 1)",
  ),
)

/** `mesh dead-letters discard --reason`: dead letters given up for good, on the record. */
const discardDeadLettersCommand = Command.make(
  "discard",
  { ...bulkFlags, reason: Flag.String("reason").pipe(Flag.withDescription("why (recorded in the log)")) },
  (args) => lazily(loadDeadLetters, (h) => h.discard(args)),
).pipe(
  Command.withDescription(
    "Discard the dead letters the filters take: each recorded in the log as discarded by the operator with the reason, then marked settled " +
      "(nothing is deleted: the event stays in the log; its consumer never reacts to it)",
  ),
)

/** `mesh dead-letters`: what consumers gave up on, and why; retried or discarded by filter. */
export const deadLettersCommand = Command.make(
  "dead-letters",
  { ...deadLetterFilters, json: jsonFlag, natsUrl: natsUrlFlag, namespace: namespaceFlag },
  (args) => lazily(loadDeadLetters, (h) => h.list(args)),
).pipe(
  Command.withDescription(
    "List dead-lettered events with their reasons (--consumer, --stream, --type, --error, --since, --until); retry or discard them by filter",
  ),
  Command.withSubcommands([retryDeadLettersCommand, discardDeadLettersCommand]),
)

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
    format: Flag.Literals("format", ["tree", "mermaid", "html"]).pipe(
      Flag.withDefault("tree" as const),
      Flag.withDescription(
        "tree (the terminal), mermaid (a sequence diagram between the writers) or html (a self-contained timeline page)",
      ),
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
