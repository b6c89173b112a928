import { assertSubjectToken, Subjects } from "@mesh/contracts"
import type { NatsHandles } from "@mesh/eventlog"
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamSource,
  type StreamSourceInfo,
} from "@nats-io/jetstream"
import { Clock, Effect } from "effect"
import { type RegisterError, registerUnavailable } from "./registerError.ts"

/**
 * Replication of the register bucket between sites.
 *
 * Each site runs its own nats-server (or cluster) with its own JetStream domain, named after the
 * site by default; the edge's server dials the cloud's as a leafnode. A site's register bucket
 * stream `KV_<ns>_registers` sources each peer's bucket stream through the peer's domain
 * (`external.api: $JS.<peer>.API`), filtered to `$KV.<bucket>.*.*.<peer>`: only the keys the peer
 * writes come in, no key is written at two sites, and a read merges them (register kinds are
 * CRDTs). The server keeps each source's position in the stream itself (the `Nats-Stream-Source`
 * header of the last message it copied) and resumes from it after a restart or a partition, so
 * replication needs no process of ours to be correct.
 *
 * Why leafnode + domains + stream sources: measured on two private 2.10.27 servers joined through
 * a TCP proxy that resets the link (`sites.int.spec.ts` prints its own figures each run):
 * - Steady-state lag, from a write's acknowledgement at one site to the key in the other's bucket:
 *   p50 0.3 ms, p95 under 1 ms (a source is a push consumer: one hop). A client-side bridge (a
 *   process at the edge with a connection to each server, copying keys through durable consumers)
 *   measured p50 0.45 ms, p95 1.2 ms, and healed in 0.1-2.5 s, as fast as its client reconnected
 *   (2 s wait). It is as quick but is more code, a process whose death stops all replication, and
 *   it needs its own duplicate suppression; a source copies each change exactly once from its
 *   stored position.
 * - Heal, sources alone: a cut shorter than 10 s heals as soon as the leafnode is back (about
 *   1 s), because the peer's source consumer outlives it. A longer one does not: after 10 s
 *   without heartbeats the server recreates the consumer, its create request is dropped on the
 *   cut link, it waits 30 s for an answer and then backs off 10 s more per failure, up to two
 *   minutes (2.12 does the same). Measured 13-39 s to converge after cuts of 12, 25 and 45 s.
 * - Heal, with {@link superviseReplication}: it sees a source silent for longer than its
 *   heartbeats allow while the peer's JetStream answers through the link, and puts the source back
 *   (the server sets it up at once, from its stored position). Measured 1.3-2.8 s from heal to
 *   identical reads after a 12 s cut, 1.7 s after a 25 s one. The server's own dropped request
 *   still times out about 30 s later and restarts the consumer: a pause of about 2 s, which the
 *   supervisor repairs the same way; no change was copied twice. Without a supervisor replication
 *   still converges, later: it speeds healing up and is never needed for correctness.
 *
 * A site's registers stream (history) gets a peer's changes through its own bucket, which keeps
 * every value (see `registerBucketHistory`): a burst of a peer's changes to one key after a
 * partition reaches history whole, not just its last values.
 */

/** A peer site and how its data is reached: the JetStream domain of its servers. */
export interface PeerSite {
  readonly site: string
  /** Its servers' JetStream domain (default: the site's name). */
  readonly domain?: string
  /** A deliver prefix, when the peer's stream is reached through an account import (default: none). */
  readonly deliverPrefix?: string
}

/** Which site this is and which peers' keys come into its bucket. */
export interface ReplicationOptions {
  readonly namespace: string
  readonly site: string
  readonly peers: ReadonlyArray<PeerSite | string>
}

/** One peer's keys coming into this site's bucket: the source on the bucket's stream. */
export interface PeerSource {
  readonly peer: string
  readonly domain: string
  readonly source: StreamSource
}

/** The replication a site declares: the sources its bucket stream must have, one per peer. */
export interface ReplicationDeclaration {
  readonly site: string
  readonly bucket: string
  /** The bucket's stream, `KV_<bucket>`, whose `sources` this declaration owns. */
  readonly stream: string
  readonly peers: ReadonlyArray<PeerSource>
}

/** The JetStream API prefix of a domain: how a stream source reaches another site's streams. */
export const domainApiPrefix = (domain: string): string => `$JS.${assertSubjectToken("domain", domain)}.API`

/** The subjects of the keys a site writes in a register bucket: `$KV.<bucket>.<register>.<id>.<site>`. */
export const siteKeysFilter = (bucket: string, site: string): string =>
  `$KV.${bucket}.*.*.${assertSubjectToken("site", site)}`

/** Declares the sources of a site's register bucket: each peer's own keys, from the peer's domain. */
export const declareReplication = (options: ReplicationOptions): ReplicationDeclaration => {
  const site = assertSubjectToken("site", options.site)
  const bucket = Subjects.registerBucket(options.namespace)
  const stream = `KV_${bucket}`
  const peers = options.peers.map((p): PeerSource => {
    const peer = typeof p === "string" ? { site: p } : p
    const name = assertSubjectToken("peer site", peer.site)
    if (name === site) throw new TypeError(`site ${site} is listed among its own peers`)
    const domain = assertSubjectToken("domain", peer.domain ?? name)
    return {
      peer: name,
      domain,
      source: {
        name: stream,
        filter_subject: siteKeysFilter(bucket, name),
        // Used only the first time the source starts (no position stored yet): a peer added to a
        // bucket that already holds keys is copied from its beginning, not from this site's last write.
        opt_start_seq: 1,
        external: {
          api: domainApiPrefix(domain),
          ...(peer.deliverPrefix === undefined ? {} : { deliver: peer.deliverPrefix }),
        },
      },
    }
  })
  const domains = peers.map((p) => p.domain)
  if (new Set(domains).size !== domains.length) {
    throw new TypeError(`two peers of site ${site} share a JetStream domain: ${domains.join(", ")}`)
  }
  return { site, bucket, stream, peers }
}

/** A source of the bucket stream that is not as declared. */
export interface SourceDrift {
  /** The declared peer it concerns; null for a source no declared peer accounts for. */
  readonly peer: string | null
  readonly problem: "missing" | "different" | "unexpected"
  readonly declared: StreamSource | null
  readonly actual: StreamSource | null
}

/** A source in the server's shape: an unset deliver prefix comes back as "". */
type ActualSource = StreamSource & { readonly subject_transforms?: ReadonlyArray<unknown> }

const sourceKey = (s: ActualSource) =>
  JSON.stringify([
    s.name,
    s.filter_subject ?? "",
    s.opt_start_seq ?? 0,
    s.opt_start_time ?? "",
    s.external?.api ?? "",
    s.external?.deliver ?? "",
    s.subject_transforms ?? [],
  ])

/** Lists the sources of a bucket stream that differ from the declaration. */
export const diffReplication = (
  declaration: ReplicationDeclaration,
  actual: ReadonlyArray<StreamSource> | undefined,
): ReadonlyArray<SourceDrift> => {
  const sources = (actual ?? []) as ReadonlyArray<ActualSource>
  const claimed = new Set<ActualSource>()
  const drift: Array<SourceDrift> = []
  for (const { peer, source } of declaration.peers) {
    // A peer's source is the one that reaches its domain; anything else about it may have drifted.
    const found = sources.find((s) => s.external?.api === source.external?.api && s.name === source.name)
    if (found === undefined) {
      drift.push({ peer, problem: "missing", declared: source, actual: null })
      continue
    }
    claimed.add(found)
    if (sourceKey(found) !== sourceKey(source))
      drift.push({ peer, problem: "different", declared: source, actual: found })
  }
  for (const s of sources) {
    if (!claimed.has(s)) drift.push({ peer: null, problem: "unexpected", declared: null, actual: s })
  }
  return drift
}

/** What applying a site's replication did. */
export interface ReplicationReport {
  readonly stream: string
  /** created: the stream had no sources and got the declared ones; drifted: left as found. */
  readonly outcome: "created" | "unchanged" | "updated" | "drifted"
  readonly drift: ReadonlyArray<SourceDrift>
}

const isStreamNotFound = (e: unknown): boolean =>
  e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound

const readSources = (jsm: JetStreamManager, stream: string) =>
  Effect.tryPromise({
    try: () => jsm.streams.info(stream).catch((e) => (isStreamNotFound(e) ? undefined : Promise.reject(e))),
    catch: (e) => registerUnavailable(`stream info ${stream}`, e),
  }).pipe(
    Effect.flatMap((info) =>
      info === undefined
        ? Effect.fail(
            registerUnavailable(
              `replicate into ${stream}`,
              new Error(`stream ${stream} not found: apply the namespace's topology first`),
            ),
          )
        : Effect.succeed(info),
    ),
  )

const setSources = (jsm: JetStreamManager, stream: string, sources: ReadonlyArray<StreamSource>) =>
  Effect.tryPromise({
    // `update` reads the stream's configuration and changes only what it is given.
    try: () => jsm.streams.update(stream, { sources: [...sources] }),
    catch: (e) => registerUnavailable(`update the sources of ${stream}`, e),
  })

/**
 * Applies a site's replication to its bucket stream idempotently, keeping the stream's other
 * fields. A stream without sources gets the declared ones; one whose sources differ (a peer
 * missing, a filter or domain changed, a source nobody declared) is reported and left alone unless
 * `mode` is "update", because a changed source starts copying anew.
 */
export const applyReplication = (
  jsm: JetStreamManager,
  declaration: ReplicationDeclaration,
  mode: "create-only" | "update" = "create-only",
): Effect.Effect<ReplicationReport, RegisterError> =>
  Effect.gen(function* () {
    const info = yield* readSources(jsm, declaration.stream)
    const current = info.config.sources ?? []
    const drift = diffReplication(declaration, current)
    const stream = declaration.stream
    if (drift.length === 0) return { stream, outcome: "unchanged", drift }
    const declared = declaration.peers.map((p) => p.source)
    if (current.length === 0 || mode === "update") {
      yield* setSources(jsm, stream, declared)
      return { stream, outcome: current.length === 0 ? "created" : "updated", drift }
    }
    yield* Effect.logWarning(
      `replication into ${stream} drifted from its declaration: ${drift
        .map(
          (d) =>
            `${d.problem} source${d.peer === null ? "" : ` from ${d.peer}`}: ${JSON.stringify(d.actual ?? d.declared)}`,
        )
        .join("; ")}`,
    )
    return { stream, outcome: "drifted", drift }
  })

/** How one peer's keys are coming in, as the server reports the source. */
export interface PeerReplicationStatus {
  readonly peer: string
  /** Whether the bucket stream has a source reaching the peer's domain at all. */
  readonly present: boolean
  /** Messages the source has yet to copy, as of its last delivery. */
  readonly lag: number
  /** Since the source last heard from the peer (a message or a heartbeat); null if it never has. */
  readonly silentMs: number | null
  readonly error: string | null
}

// The server reports each source with the external API it reaches, which the client's type leaves out.
type SourceInfo = StreamSourceInfo & { readonly external?: { readonly api?: string } }

/** The state of each peer's source on this site's bucket stream. */
export const replicationStatus = (
  jsm: JetStreamManager,
  declaration: ReplicationDeclaration,
): Effect.Effect<ReadonlyArray<PeerReplicationStatus>, RegisterError> =>
  Effect.map(readSources(jsm, declaration.stream), (info) =>
    declaration.peers.map((peer) => {
      const api = peer.source.external?.api
      const source = ((info.sources ?? []) as ReadonlyArray<SourceInfo>).find((s) => s.external?.api === api)
      return {
        peer: peer.peer,
        present: source !== undefined,
        lag: source?.lag ?? 0,
        silentMs: source === undefined || source.active < 0 ? null : source.active / 1_000_000,
        error: source?.error?.description ?? null,
      }
    }),
  )

/**
 * Makes the server set up a peer's source again at once: takes it off the bucket stream and puts
 * it back as it was. The server resumes it from the position it stored with the last message it
 * copied, so nothing is skipped or copied twice. A peer without a source is left alone: that is
 * drift, for {@link applyReplication} to report.
 */
export const resumeReplication = (
  jsm: JetStreamManager,
  declaration: ReplicationDeclaration,
  peer: string,
): Effect.Effect<void, RegisterError> =>
  Effect.gen(function* () {
    const api = declaration.peers.find((p) => p.peer === peer)?.source.external?.api
    if (api === undefined) return yield* Effect.die(new TypeError(`${peer} is not a declared peer`))
    const sources = (yield* readSources(jsm, declaration.stream)).config.sources ?? []
    if (!sources.some((s) => s.external?.api === api)) return
    yield* setSources(
      jsm,
      declaration.stream,
      sources.filter((s) => s.external?.api !== api),
    )
    yield* setSources(jsm, declaration.stream, sources)
  })

/** When the supervisor judges a source stalled and its peer reachable. */
export interface SupervisionOptions {
  /** How often it looks (default 250 ms). */
  readonly intervalMs?: number
  /** Silence after which a source is stalled (default 2 500 ms: its heartbeats come every second). */
  readonly stalledAfterMs?: number
  /**
   * How long the peer must have answered before its source is resumed (default 1 000 ms): a
   * consumer that outlived a short cut resumes by itself as soon as the link is back.
   */
  readonly graceMs?: number
  /** How long to wait for the peer's JetStream to answer (default 500 ms). */
  readonly probeTimeoutMs?: number
}

/**
 * Watches the sources of this site's bucket and resumes one that has gone silent while its peer's
 * JetStream answers (after a partition heals, mostly): left alone, the server can take from 30 s
 * to over two minutes to set it up again (see the module comment). Runs until interrupted; one
 * per site is enough, more are harmless. Replication is correct without it, only slower to heal.
 */
export const superviseReplication = (
  nats: NatsHandles,
  declaration: ReplicationDeclaration,
  options: SupervisionOptions = {},
): Effect.Effect<never> => {
  const stalledAfterMs = options.stalledAfterMs ?? 2_500
  const graceMs = options.graceMs ?? 1_000
  const probeTimeoutMs = options.probeTimeoutMs ?? 500
  // Per peer: since when its JetStream has answered, and when its source was last resumed.
  const reachableSince = new Map<string, number>()
  const resumedAt = new Map<string, number>()
  // Any answer will do, an error from the peer's JetStream included; no responders or a timeout is a cut link.
  const reachable = (peer: PeerSource) =>
    Effect.tryPromise(() =>
      nats.connection.request(`${domainApiPrefix(peer.domain)}.INFO`, undefined, { timeout: probeTimeoutMs }),
    ).pipe(
      Effect.as(true),
      Effect.orElseSucceed(() => false),
    )
  const round = Effect.gen(function* () {
    const status = yield* replicationStatus(nats.jsm, declaration)
    // A declared source missing from the stream (a resume cut short between its two updates, say)
    // is put back: left alone, that peer's keys would stop coming for good.
    const missing = status.filter((s) => !s.present).map((s) => s.peer)
    if (missing.length > 0) {
      const current = (yield* readSources(nats.jsm, declaration.stream)).config.sources ?? []
      const restored = declaration.peers.filter((p) => missing.includes(p.peer)).map((p) => p.source)
      yield* setSources(nats.jsm, declaration.stream, [...current, ...restored])
      yield* Effect.logWarning(`restored the replication of ${missing.join(", ")} into ${declaration.stream}`)
      return
    }
    for (const s of status) {
      const now = yield* Clock.currentTimeMillis
      const stalled = s.present && (s.silentMs === null || s.silentMs > stalledAfterMs)
      // A source just put back has not had the time to hear a heartbeat yet.
      const justResumed = now - (resumedAt.get(s.peer) ?? Number.NEGATIVE_INFINITY) < stalledAfterMs
      if (!stalled || justResumed) continue
      const peer = declaration.peers.find((p) => p.peer === s.peer) as PeerSource
      if (!(yield* reachable(peer))) {
        reachableSince.delete(s.peer)
        continue
      }
      const since = reachableSince.get(s.peer) ?? now
      reachableSince.set(s.peer, since)
      if (now - since < graceMs) continue
      yield* resumeReplication(nats.jsm, declaration, s.peer)
      resumedAt.set(s.peer, yield* Clock.currentTimeMillis)
      yield* Effect.logInfo(
        `resumed replication of ${s.peer} into ${declaration.stream}: silent ${Math.round(s.silentMs ?? 0)} ms while ${peer.domain} answered`,
      )
    }
  })
  // A failure is logged when it starts or changes, not every round: through an outage of NATS
  // each round fails at once, four times a second.
  let failing: string | undefined
  return round.pipe(
    Effect.andThen(
      Effect.suspend(() => {
        if (failing === undefined) return Effect.void
        failing = undefined
        return Effect.logInfo("replication supervisor: working again")
      }),
    ),
    Effect.catch((e) => {
      if (e.message === failing) return Effect.void
      failing = e.message
      return Effect.logWarning(`replication supervisor: ${e.message}`)
    }),
    Effect.andThen(Effect.sleep(options.intervalMs ?? 250)),
    Effect.forever,
  )
}
