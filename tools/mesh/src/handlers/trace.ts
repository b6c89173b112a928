import { domains, meshCatalog, Subjects } from "@mesh/contracts"
import { makeEventLog, type NatsHandles } from "@mesh/eventlog"
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
import { failedTo, namespaceOf, scopedNatsTarget } from "./nats.ts"

const isStreamNotFound = (e: unknown): boolean =>
  e instanceof Error && (e.name === "StreamNotFoundError" || /stream not found/i.test(e.message))

/** A stream's last sequence, or 0 when the namespace never declared it (a domain no agent wrote to). */
const headOf = (nats: NatsHandles, stream: string) =>
  Effect.tryPromise(() =>
    nats.jsm.streams
      .info(stream)
      .then((info) => info.state.last_seq)
      .catch((e) => (isStreamNotFound(e) ? 0 : Promise.reject(e))),
  ).pipe(failedTo(`read the head of ${stream}`))

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
      const head = yield* headOf(nats, stream)
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
