import { applyTopology, declareTopology } from "@mesh/eventlog"
import { Console, Effect, type Option } from "effect"
import { ExitCode } from "../errors.ts"
import { failedTo, namespaceOf, scopedNatsTarget } from "./nats.ts"

/** `mesh streams`: declares the namespace's streams; reports drift and rewrites it only with `update`. */
export const streams = (args: {
  readonly update: boolean
  readonly replicas: number
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const report = yield* applyTopology(
      nats.jsm,
      declareTopology({ namespace, replicas: args.replicas }),
      args.update ? "update" : "create-only",
    ).pipe(failedTo(`declare the streams of namespace ${namespace}`))
    const settled = [
      ...report.created.map((stream) => ({ stream, status: "created" })),
      ...report.updated.map((stream) => ({ stream, status: "updated" })),
      ...report.unchanged.map((stream) => ({ stream, status: "unchanged" })),
    ]
    if (args.json) {
      for (const s of settled) yield* Console.log(JSON.stringify(s))
      for (const d of report.drifted)
        yield* Console.log(JSON.stringify({ stream: d.stream, status: "drifted", fields: d.fields }))
    } else {
      for (const s of settled) yield* Console.log(`${s.status.padEnd(10)} ${s.stream}`)
      for (const d of report.drifted) {
        yield* Console.log(`DRIFTED    ${d.stream}`)
        for (const f of d.fields) {
          yield* Console.log(
            `             ${f.field}: declared ${JSON.stringify(f.declared)}, actual ${JSON.stringify(f.actual)}`,
          )
        }
      }
    }
    if (report.drifted.length > 0) {
      if (!args.json)
        yield* Console.log("drifted streams were left unchanged; rerun with --update to rewrite them")
      process.exitCode = ExitCode.drift
    }
  }).pipe(Effect.scoped)
