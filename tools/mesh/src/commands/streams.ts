import { applyTopology, declareTopology, openNats } from "@mesh/eventlog"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { namespaceOf, natsTarget } from "../target.ts"

const natsUrl = Flag.String("nats-url").pipe(
  Flag.optional,
  Flag.withDescription("NATS server (else NATS_URL)"),
)
const namespace = Flag.String("namespace").pipe(
  Flag.optional,
  Flag.withDescription("subject/stream namespace"),
)

/** `mesh streams [--update]`: declare the namespace's streams; report drift, rewrite only with --update. */
export const streamsCommand = Command.make(
  "streams",
  {
    natsUrl,
    namespace,
    update: Flag.Boolean("update").pipe(
      Flag.withDefault(false),
      Flag.withDescription("rewrite drifted streams to their declaration"),
    ),
    replicas: Flag.Int("replicas").pipe(Flag.withDefault(1)),
  },
  (flags) =>
    Effect.gen(function* () {
      const url = natsTarget(Option.getOrUndefined(flags.natsUrl))
      const ns = namespaceOf(Option.getOrUndefined(flags.namespace))
      const nats = yield* Effect.acquireRelease(
        Effect.promise(() => openNats(url, "mesh-cli")),
        (h) => Effect.promise(() => h.connection.drain()),
      )
      const report = yield* applyTopology(
        nats.jsm,
        declareTopology({ namespace: ns, replicas: flags.replicas }),
        flags.update ? "update" : "create-only",
      )
      for (const s of report.created) yield* Console.log(`created    ${s}`)
      for (const s of report.updated) yield* Console.log(`updated    ${s}`)
      for (const s of report.unchanged) yield* Console.log(`unchanged  ${s}`)
      for (const d of report.drifted) {
        yield* Console.log(`DRIFTED    ${d.stream}`)
        for (const f of d.fields) {
          yield* Console.log(
            `             ${f.field}: declared ${JSON.stringify(f.declared)}, actual ${JSON.stringify(f.actual)}`,
          )
        }
      }
      if (report.drifted.length > 0) {
        yield* Console.log("drifted streams were left unchanged; rerun with --update to rewrite them")
        process.exitCode = 3
      }
    }).pipe(Effect.scoped),
).pipe(Command.withDescription("Declare the event streams and report drift"))

export { namespace as namespaceFlag, natsUrl as natsUrlFlag }
