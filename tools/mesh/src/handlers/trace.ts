import { domains, meshCatalog, Subjects } from "@mesh/contracts"
import { makeEventLog } from "@mesh/eventlog"
import { Console, Effect, Option, Stream } from "effect"
import { meshError } from "../errors.ts"
import type { Since } from "../since.ts"
import {
  buildCausalTrace,
  renderTraceMermaid,
  renderTraceTree,
  type TracedEvent,
} from "../trace/causalTree.ts"
import { renderTraceHtml } from "../trace/htmlTimeline.ts"
import { sequenceSince } from "./inspect.ts"
import { failedTo, namespaceOf, scopedNatsTarget, streamHead } from "./nats.ts"

/**
 * `mesh trace <correlation-id>`: every event of the namespace that carries the correlation id, from
 * every domain's stream (or those stored since `--since`), as the chain's causal tree: outside
 * requests at the roots, then what each event caused across agents, with the decisions' inputs and
 * the policy's verdicts. A tree on the terminal, one JSON object with `--json`, a mermaid
 * sequence diagram with `--format mermaid`, or a self-contained HTML timeline with `--format html`.
 */
export const trace = (args: {
  readonly correlationId: string
  readonly since: Option.Option<Since>
  readonly format: "tree" | "mermaid" | "html"
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const found: Array<TracedEvent> = []
    let searched = 0
    for (const domain of domains) {
      const stream = Subjects.streamName(namespace, domain)
      const head = yield* streamHead(nats, stream)
      if (head === 0) continue
      const from = Option.isSome(args.since)
        ? yield* sequenceSince(nats, stream, args.since.value, head).pipe(
            failedTo(`find where ${stream} reaches the --since time`),
          )
        : 1
      if (from > head) continue
      yield* log.follow(domain, { fromSequence: from }).pipe(
        Stream.takeUntil((commit) => commit.sequence >= head),
        Stream.runForEach((commit) =>
          Effect.sync(() => {
            commit.events.forEach((event, index) => {
              searched += 1
              if (event.correlationId === args.correlationId)
                found.push({ stream, sequence: commit.sequence, index, event })
            })
          }),
        ),
        failedTo(`read ${stream}`),
      )
    }
    if (found.length === 0)
      return yield* meshError({
        _tag: "Failed",
        message: `no event of namespace ${namespace} carries correlation id ${args.correlationId} (searched ${searched} events${Option.isSome(args.since) ? " since --since" : ""}); a chain's id is its outside request's id, as \`mesh tail requests\` shows it`,
      })
    const causal = buildCausalTrace(args.correlationId, found)
    if (args.json) return yield* Console.log(JSON.stringify({ namespace, ...causal }))
    if (args.format === "html") return yield* Console.log(renderTraceHtml(causal))
    const lines = args.format === "mermaid" ? renderTraceMermaid(causal) : renderTraceTree(causal)
    for (const line of lines) yield* Console.log(line)
  }).pipe(Effect.scoped)
