import { Argument, Command, Flag } from "effect/cli"
import * as Option from "effect/Option"
import { domainNames } from "./inspect.ts"
import { instantFlag, jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/history.ts")

/** `mesh export`: a slice of the log, with its causal dependencies, into a history file. */
export const exportCommand = Command.make(
  "export",
  {
    out: Flag.String("out").pipe(
      Flag.withDefault("-"),
      Flag.withDescription("the history file to write (default -: stdout)"),
    ),
    domains: Flag.Literals("domain", domainNames).pipe(
      Flag.atLeast(0),
      Flag.withDescription(`only these streams (repeatable; default all): ${domainNames.join(", ")}`),
    ),
    correlation: Flag.String("correlation").pipe(
      Flag.atLeast(0),
      Flag.withDescription("only this chain (its correlation id; repeatable), with what it depends on"),
    ),
    aggregate: Flag.String("aggregate").pipe(
      Flag.filterMap(
        (text) => Option.some(text).pipe(Option.filter((t) => /^[^/\s]+\/[^\s]+$/.test(t))),
        (text) => `--aggregate takes <aggregate-type>/<aggregate-id> (ticket/tk-1a2b), not ${text}`,
      ),
      Flag.atLeast(0),
      Flag.withDescription("only this aggregate's history (type/id; repeatable), with what it depends on"),
    ),
    since: instantFlag("since", "only events that occurred since an ISO time or a duration ago"),
    until: instantFlag("until", "only events that occurred by an ISO time or a duration ago"),
    keepPersonal: Flag.Boolean("keep-personal").pipe(
      Flag.withDefault(false),
      Flag.withDescription(
        "keep the fields the contracts mark as personal (what customers wrote, their addresses, decision content); redacted by default",
      ),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.exportHistory(args)),
).pipe(
  Command.withDescription(
    "Cut a slice of the log into a history file: everything, or the chains, aggregates and time window asked for, " +
      "with every earlier event of the aggregates they touch, the events they name as causes and the decisions' content; personal data redacted unless --keep-personal; reads only",
  ),
)

/** `mesh import <file>`: a history file played into a namespace that holds no events yet. */
export const importCommand = Command.make(
  "import",
  {
    file: Argument.String("file").pipe(Argument.withDescription("a history file written by mesh export")),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.importHistory(args)),
).pipe(
  Command.withDescription(
    "Play a history file into a namespace that holds no events yet (--namespace), for replay, trace and diff on another machine",
  ),
)
