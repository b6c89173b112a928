import { createHmac, randomBytes } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { gunzipSync, gzipSync } from "node:zlib"
import { personalFieldsOfKind } from "@mesh/actions"
import { type Domain, domains, meshCatalog, Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, makeEventLog, type NatsHandles } from "@mesh/eventlog"
import { Objm } from "@nats-io/obj"
import { Clock, Console, Effect, Option, Result, Stream } from "effect"
import { meshError } from "../errors.ts"
import {
  type HistoryCommit,
  type HistoryHeader,
  type HistoryObject,
  historyFormat,
  historyFormatVersion,
  historyLines,
  parseHistoryFile,
} from "../history/historyFile.ts"
import { redactHistory } from "../history/redaction.ts"
import { selectSlice, storedContentHashes } from "../history/selection.ts"
import { instantOf, type Since } from "../since.ts"
import { failedTo, namespaceOf, scopedNatsTarget, streamHead } from "./nats.ts"

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

/** Every commit of the namespace's streams (those asked for), undecoded, in stream order. */
export const readHistory = (nats: NatsHandles, namespace: string, wanted: ReadonlyArray<Domain>) =>
  Effect.gen(function* () {
    const log = makeEventLog({ nats, catalog: meshCatalog, namespace })
    const heads: Record<string, number> = {}
    const commits: Array<HistoryCommit> = []
    for (const domain of wanted) {
      const head = yield* streamHead(nats, Subjects.streamName(namespace, domain))
      heads[domain] = head
      if (head === 0) continue
      // The registers stream holds its own events and every register change it sources from the
      // register bucket (`$KV.<bucket>.<key>`): both are history, and causations name both.
      const prefix = `${namespace}.${domain}.`
      const bucketPrefix = `$KV.${Subjects.registerBucket(namespace)}.`
      yield* log.readStored(domain, { fromSequence: 1, toSequence: head }).pipe(
        Stream.runForEach((m) =>
          Effect.sync(() => {
            const subject = m.subject.startsWith(prefix)
              ? m.subject.slice(namespace.length + 1)
              : domain === "registers" && m.subject.startsWith(bucketPrefix) && m.data.length > 0
                ? `$KV.${m.subject.slice(bucketPrefix.length)}`
                : null
            if (subject === null) return
            const parsed = JSON.parse(textDecoder.decode(m.data)) as unknown
            commits.push({
              domain,
              sequence: m.sequence,
              subject,
              msgId: m.msgId,
              events: Array.isArray(parsed) ? parsed : [parsed],
            })
          }),
        ),
        failedTo(`read ${Subjects.streamName(namespace, domain)}`),
      )
    }
    return { heads, commits }
  })

/**
 * The commits with their personal data redacted (`history/redaction.ts`): text by a token keyed
 * with a secret made for this export and never written (the same value reads as the same token
 * within the file, and no dictionary guesses it back), decision content down to its hash, a
 * request's body to null beside its digest.
 */
const redactCommits = (commits: ReadonlyArray<HistoryCommit>) => {
  const key = randomBytes(32)
  return redactHistory(
    commits,
    { payloadOf: (type) => meshCatalog.get(type)?.payload, kindFields: personalFieldsOfKind },
    (text) => `redacted:${createHmac("sha256", key).update(text).digest("hex").slice(0, 20)}`,
  )
}

/** Decision content kept by reference, fetched from the namespace's object store by hash. */
export const fetchObjects = (nats: NatsHandles, namespace: string, hashes: ReadonlySet<string>) =>
  Effect.gen(function* () {
    if (hashes.size === 0) return []
    const bucket = Subjects.decisionContentBucket(namespace)
    const store = yield* Effect.tryPromise(() => new Objm(nats.js).open(bucket)).pipe(
      failedTo(`open the decision content store ${bucket}`),
    )
    return yield* Effect.forEach(
      [...hashes].sort(),
      (sha256) =>
        Effect.tryPromise(() => store.getBlob(sha256)).pipe(
          failedTo(`read decision content ${sha256} from ${bucket}`),
          Effect.flatMap((bytes) =>
            bytes === null
              ? meshError({
                  _tag: "Failed",
                  message: `decision content ${sha256} is referenced by a decision but missing from ${bucket}`,
                })
              : Effect.succeed<HistoryObject>({ sha256, base64: Buffer.from(bytes).toString("base64") }),
          ),
        ),
      { concurrency: 8 },
    )
  })

/**
 * `mesh export`: cuts a slice of a namespace's log (everything, or the chains, aggregates and time
 * window asked for, with their causal dependencies) into a history file, the commits exactly as
 * stored and the decision content they reference; reads only.
 */
export const exportHistory = (args: {
  readonly out: string
  readonly domains: ReadonlyArray<Domain>
  readonly correlation: ReadonlyArray<string>
  readonly aggregate: ReadonlyArray<string>
  readonly since: Option.Option<Since>
  readonly until: Option.Option<Since>
  readonly keepPersonal: boolean
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const now = yield* Clock.currentTimeMillis
    const wanted = args.domains.length === 0 ? domains : args.domains
    const { heads, commits } = yield* readHistory(nats, namespace, wanted)
    const sinceMs = Option.match(args.since, { onNone: () => null, onSome: (s) => instantOf(s, now) })
    const untilMs = Option.match(args.until, { onNone: () => null, onSome: (s) => instantOf(s, now) })
    const selected = selectSlice(commits, {
      correlationIds: args.correlation,
      aggregates: args.aggregate,
      sinceMs,
      untilMs,
    })
    const redaction = args.keepPersonal ? null : redactCommits(selected)
    const slice = redaction === null ? selected : redaction.commits
    if (slice.length === 0)
      return yield* meshError({
        _tag: "Failed",
        message: `nothing in namespace ${namespace} matches: ${commits.length} commits read, none selected`,
      })
    const hashes = new Set(slice.flatMap(storedContentHashes))
    const objects = yield* fetchObjects(nats, namespace, hashes)
    const header: HistoryHeader = {
      format: historyFormat,
      version: historyFormatVersion,
      namespace,
      exportedAt: new Date(now).toISOString(),
      selection: {
        domains: [...wanted],
        correlationIds: [...args.correlation],
        aggregates: [...args.aggregate],
        since: sinceMs === null ? null : new Date(sinceMs).toISOString(),
        until: untilMs === null ? null : new Date(untilMs).toISOString(),
      },
      heads,
      personalData:
        redaction === null
          ? { treatment: "kept", fields: [] }
          : { treatment: "redacted", fields: redaction.fields },
    }
    const text = `${historyLines(header, slice, objects).join("\n")}\n`
    // Written to a pipe, a large file must be flushed before the command exits, or it is cut short.
    if (args.out === "-")
      yield* Effect.callback<void>((resume) => {
        process.stdout.write(text, () => resume(Effect.void))
      })
    else
      yield* Effect.try({
        // A file named *.gz is written compressed: a day's history is mostly repeated field names.
        try: () => writeFileSync(args.out, args.out.endsWith(".gz") ? gzipSync(text, { level: 9 }) : text),
        catch: (cause) => meshError({ _tag: "Failed", message: `could not write ${args.out}`, cause }),
      })
    const events = slice.reduce((n, c) => n + c.events.length, 0)
    const summary = {
      namespace,
      file: args.out,
      commits: slice.length,
      events,
      objects: objects.length,
      personalData: header.personalData,
    }
    // With the file on stdout, the summary goes to stderr so that it never mixes into the file.
    if (args.json && args.out !== "-") return yield* Console.log(JSON.stringify(summary))
    yield* Console.error(
      `exported ${slice.length} commits (${events} events) and ${objects.length} pieces of decision content from namespace ${namespace}${args.out === "-" ? "" : ` to ${args.out}`}; ${redaction === null ? "personal data kept (--keep-personal)" : `personal data redacted (${redaction.fields.length} fields)`}`,
    )
  }).pipe(Effect.scoped)

/** How many commits a publish keeps in flight: JetStream stores one connection's publishes in order. */
const IN_FLIGHT = 256

/**
 * Plays history (commits in file order, decision content by hash) into `namespace`, which must hold
 * no events yet: each commit to its subject with its deduplication id, register changes into the
 * namespace's register bucket. Says how many commits went to each domain, and whether every event
 * stream kept the sequences it was exported with.
 */
export const playHistory = (
  nats: NatsHandles,
  namespace: string,
  history: {
    readonly commits: ReadonlyArray<HistoryCommit>
    readonly objects: ReadonlyMap<string, Uint8Array>
  },
) =>
  Effect.gen(function* () {
    yield* applyTopology(nats.jsm, declareTopology({ namespace })).pipe(
      failedTo(`declare the streams of namespace ${namespace}`),
    )
    // History is only ever added to an empty namespace: mixed with live events it would be neither.
    for (const domain of domains) {
      const prefix = `${namespace}.${domain}.>`
      const held = yield* Effect.tryPromise(() =>
        nats.jsm.streams
          .info(Subjects.streamName(namespace, domain), { subjects_filter: prefix })
          .then((info) => Object.values(info.state.subjects ?? {}).reduce((n, c) => n + c, 0)),
      ).pipe(failedTo(`read ${Subjects.streamName(namespace, domain)}`))
      if (held > 0)
        return yield* meshError({
          _tag: "BadInput",
          message: `namespace ${namespace} already holds events (${held} in ${Subjects.streamName(namespace, domain)}); import into a new one with --namespace`,
        })
    }
    if (history.objects.size > 0) {
      const bucket = Subjects.decisionContentBucket(namespace)
      const store = yield* Effect.tryPromise(() => new Objm(nats.js).create(bucket)).pipe(
        failedTo(`open the decision content store ${bucket}`),
      )
      yield* Effect.forEach(
        history.objects,
        ([sha256, bytes]) =>
          Effect.tryPromise(() => store.putBlob({ name: sha256 }, bytes)).pipe(
            failedTo(`store decision content ${sha256} in ${bucket}`),
          ),
        { concurrency: 8, discard: true },
      )
    }
    let sequencesKept = true
    const imported: Record<string, number> = {}
    for (let start = 0; start < history.commits.length; start += IN_FLIGHT) {
      const window = history.commits.slice(start, start + IN_FLIGHT)
      const acks = yield* Effect.tryPromise(() =>
        Promise.all(
          window.map((commit) =>
            nats.js.publish(
              // A register change goes into the namespace's register bucket, which its registers stream sources.
              commit.subject.startsWith("$KV.")
                ? `$KV.${Subjects.registerBucket(namespace)}.${commit.subject.slice(4)}`
                : `${namespace}.${commit.subject}`,
              textEncoder.encode(JSON.stringify(commit.events)),
              commit.msgId === null ? {} : { msgID: commit.msgId },
            ),
          ),
        ),
      ).pipe(failedTo(`append the history to namespace ${namespace}`))
      window.forEach((commit, i) => {
        imported[commit.domain] = (imported[commit.domain] ?? 0) + 1
        // Register changes reach the registers stream as it sources them, not in the order played.
        if (commit.domain !== "registers" && acks[i]!.seq !== commit.sequence) sequencesKept = false
      })
    }
    return { byDomain: imported, sequencesKept }
  })

/**
 * `mesh import <file>`: plays a history file into a namespace that holds no events yet, each commit
 * to its subject there with its deduplication id, and its decision content into the namespace's
 * object store. A whole exported stream keeps its sequences.
 */
export const importHistory = (args: {
  readonly file: string
  readonly json: boolean
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => {
        const bytes = readFileSync(args.file)
        // Compressed or not, by its magic bytes rather than its name.
        return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8")
      },
      catch: (cause) =>
        meshError({ _tag: "BadInput", message: `cannot read ${args.file}: ${String(cause)}` }),
    })
    const parsed = parseHistoryFile(text)
    if (Result.isFailure(parsed))
      return yield* meshError({ _tag: "BadInput", message: `${args.file}: ${parsed.failure}` })
    const history = parsed.success
    const { nats } = yield* scopedNatsTarget(args.natsUrl)
    const namespace = yield* namespaceOf(args.namespace)
    const { byDomain: imported, sequencesKept } = yield* playHistory(nats, namespace, history)
    const summary = {
      namespace,
      from: history.header.namespace,
      commits: history.commits.length,
      byDomain: imported,
      objects: history.objects.size,
      sequencesKept,
    }
    if (args.json) return yield* Console.log(JSON.stringify(summary))
    yield* Console.log(
      `imported ${history.commits.length} commits (${Object.entries(imported)
        .map(([d, n]) => `${d} ${n}`)
        .join(
          ", ",
        )}) and ${history.objects.size} pieces of decision content from namespace ${history.header.namespace} into ${namespace}; ${sequencesKept ? "every event stream kept its sequences" : "sequences differ from the export's (a slice, not whole streams)"}`,
    )
  }).pipe(Effect.scoped)
