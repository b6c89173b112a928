import {
  type Hlc,
  type RegisterDefinition,
  Subjects,
  shopRegisters,
  type VersionVector,
} from "@mesh/contracts"
import { makeRegisters, type RegisterChangedEvent, type SiteValue } from "@mesh/registers"
import { Console, Effect, Option, Result, Schema, Stream } from "effect"
import { describeCause, meshError } from "../errors.ts"
import {
  connectionLost,
  failedTo,
  namespaceOf,
  scopedNatsTarget,
  streamExists,
  subjectToken,
} from "./nats.ts"

/** Where a registers command reads: `--nats-url` and `--namespace`. */
interface Target {
  readonly natsUrl: Option.Option<string>
  readonly namespace: Option.Option<string>
}

// The CLI reads every register, whatever its state, kind or value types.
const declared = shopRegisters as unknown as ReadonlyArray<RegisterDefinition>

/** The declared register of that name, or a usage error naming the declared ones. */
const registerNamed = (name: string) => {
  const definition = declared.find((r) => r.name === name)
  return definition === undefined
    ? meshError({
        _tag: "BadInput",
        message: `no register ${JSON.stringify(name)} is declared; the registers are ${declared.map((r) => r.name).join(", ")}`,
      })
    : Effect.succeed(definition)
}

/**
 * Connects and checks the bucket; `open(sites)` then reads as agent "mesh", its own site the first
 * of `sites` and the others its peers. makeRegisters would create a missing bucket: a reader must
 * not leave one behind in a namespace it merely looked at (a typo of one, say).
 */
const connect = (target: Target) =>
  Effect.gen(function* () {
    const { url, nats } = yield* scopedNatsTarget(target.natsUrl)
    const namespace = yield* namespaceOf(target.namespace)
    const bucket = Subjects.registerBucket(namespace)
    yield* streamExists(
      nats,
      `KV_${bucket}`,
      `namespace ${namespace} has no register bucket ${bucket}; \`mesh streams\` declares it`,
      `could not read register bucket ${bucket}`,
    )
    const open = (sites: ReadonlyArray<string> = []) => {
      const [site = "main", ...peerSites] = sites
      return makeRegisters(nats, { namespace, agent: "mesh", instance: "cli", site, peerSites }).pipe(
        failedTo(`open the registers of namespace ${namespace}`),
      )
    }
    return { url, nats, namespace, bucket, open }
  })

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

/** A clock reading as its wall time and logical counter: `2026-11-25T10:00:00.000Z+0`. */
const formatHlc = (hlc: Hlc) => `${new Date(hlc.wall).toISOString()}+${hlc.logical}`

/** A version vector as `writer=count,…`, `{}` when empty. */
const formatContext = (context: VersionVector) => {
  const entries = Object.entries(context)
  return entries.length === 0 ? "{}" : entries.map(([writer, count]) => `${writer}=${count}`).join(",")
}

/** The value a change left at its site, or why its state cannot be read as the register's kind. */
type ValueAfter = { readonly value: unknown } | { readonly undecodable: string }

/** Reads a change's snapshot as its register's kind would: decode the stored state, then `read` it. */
const valueReader = (definition: RegisterDefinition) => {
  const decode = Schema.decodeUnknownResult(definition.kind.state)
  return (change: RegisterChangedEvent): ValueAfter => {
    if (change.payload.kind !== definition.kind.kind)
      return { undecodable: `holds a ${change.payload.kind} value, not a ${definition.kind.kind}` }
    const state = decode(change.payload.snapshot.state)
    return Result.isSuccess(state)
      ? { value: definition.kind.read(state.success) }
      : { undecodable: describeCause(state.failure) }
  }
}

/** An encoded operation as its tag and its fields: `Add {"amount":12}`. */
const formatOp = (op: unknown) => {
  if (typeof op !== "object" || op === null || !("_tag" in op) || typeof op._tag !== "string")
    return JSON.stringify(op)
  const { _tag, ...fields } = op as { readonly _tag: string }
  return Object.keys(fields).length === 0 ? _tag : `${_tag} ${JSON.stringify(fields)}`
}

/**
 * One change as a line: version, site, time, writer, what it did, the writes it had not seen,
 * the value after it and its ids. `instance` prefixes `register/id` (for `watch`, which mixes them).
 */
const formatChange = (e: RegisterChangedEvent, after: ValueAfter | undefined, instance: boolean) => {
  const p = e.payload
  const c = p.change
  const what =
    c._tag === "Write"
      ? formatOp(c.op)
      : `Merge (${c.rule}) of ${c.inputs.map((input) => input.site).join(",") || "no site"}`
  const unseen =
    c._tag === "Write" && c.unseen.length > 0
      ? ` (from a stale view: had not seen ${c.unseen
          .map((u) =>
            u.from === u.to ? `${u.writer} write ${u.from}` : `${u.writer} writes ${u.from}-${u.to}`,
          )
          .join(", ")})`
      : ""
  const value =
    after === undefined
      ? `state=${JSON.stringify(p.snapshot.state)}`
      : "value" in after
        ? `value=${JSON.stringify(after.value)}`
        : `value=? (${after.undecodable})`
  return `${instance ? `${p.register}/${p.id} ` : ""}v${p.version} ${p.site} ${e.occurredAt} by ${c.writer} ${what}${unseen} ${value} event=${e.eventId} correlation=${e.correlationId} causation=${e.causationId ?? "-"}`
}

/** A change as one JSON line: its envelope, and the value after it when its state decodes. */
const changeJson = (e: RegisterChangedEvent, after: ValueAfter | undefined) =>
  JSON.stringify(after === undefined ? e : { ...e, ...after })

/** `mesh registers [list]`: the declared registers and their instances that have values. */
export const list = (args: Target & { readonly register: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function* () {
    const only = Option.isSome(args.register) ? [yield* registerNamed(args.register.value)] : declared
    const { namespace, open } = yield* connect(args)
    const registers = yield* open()
    const instances = yield* registers
      .list(Option.getOrUndefined(args.register))
      .pipe(failedTo(`list the register instances of namespace ${namespace}`))
    const instancesOf = (name: string) =>
      instances.filter((i) => i.register === name).map(({ id, sites }) => ({ id, sites }))
    // A key of a register these contracts do not declare (a newer release's, a test's) is shown as such.
    const undeclared = [...new Set(instances.map((i) => i.register))].filter(
      (name) => !declared.some((r) => r.name === name),
    )
    const rows = [
      ...only.map((r) => ({
        register: r.name,
        declared: true,
        kind: r.kind.kind,
        owner: r.owner,
        writers: r.writers,
        key: r.key,
        summary: r.summary,
        instances: instancesOf(r.name),
      })),
      ...undeclared.map((name) => ({
        register: name,
        declared: false,
        kind: null,
        owner: null,
        writers: null,
        key: null,
        summary: null,
        instances: instancesOf(name),
      })),
    ]
    if (args.json) {
      for (const row of rows) yield* Console.log(JSON.stringify(row))
      return
    }
    const width = (column: (row: (typeof rows)[number]) => string) =>
      Math.max(...rows.map((row) => column(row).length))
    const nameWidth = width((row) => row.register)
    const kindWidth = width((row) => row.kind ?? "undeclared")
    const ownerWidth = width((row) => row.owner ?? "")
    for (const row of rows) {
      const declaredAs =
        row.kind === null
          ? `${"undeclared".padEnd(kindWidth)}  not in this release's contracts`
          : `${row.kind.padEnd(kindWidth)}  owner ${(row.owner ?? "").padEnd(ownerWidth)}  writers ${(row.writers ?? []).join(",")}`
      yield* Console.log(
        `${row.register.padEnd(nameWidth)}  ${declaredAs}  ${plural(row.instances.length, "instance")}`,
      )
      if (row.summary !== null) yield* Console.log(`  one per ${row.key}: ${row.summary}`)
      for (const i of row.instances) yield* Console.log(`  ${i.id}  sites ${i.sites.join(",")}`)
    }
    const total = rows.reduce((n, row) => n + row.instances.length, 0)
    yield* Console.log(
      `${plural(only.length, "register")} declared; ${plural(total, "instance")} with values in namespace ${namespace}`,
    )
  }).pipe(Effect.scoped)

/** One site's key of an instance, for `get`. */
const siteJson = (s: SiteValue<unknown>) => ({
  site: s.site,
  revision: s.revision,
  version: s.version,
  writer: s.change?.payload.change.writer ?? null,
  change: s.change?.payload.change._tag ?? null,
  hlc: s.snapshot.hlc,
  context: s.snapshot.context,
})

/** `mesh registers get`: an instance's merged value, its concurrency and unresolved values, and each site's key. */
export const get = (
  args: Target & { readonly register: string; readonly id: string; readonly json: boolean },
) =>
  Effect.gen(function* () {
    const definition = yield* registerNamed(args.register)
    const id = yield* subjectToken("register id", args.id)
    const ref = `${definition.name}/${id}`
    const { namespace, open } = yield* connect(args)
    // A read merges the sites it is told of: those that have a key of this instance here.
    const listed = yield* (yield* open())
      .list(definition.name)
      .pipe(failedTo(`list the instances of ${definition.name}`))
    const sites = listed.find((i) => i.id === id)?.sites ?? []
    if (sites.length === 0) {
      return yield* meshError({
        _tag: "Failed",
        message: `${ref} has no value in namespace ${namespace}: no site has written it (\`mesh registers list --register ${definition.name}\` lists its instances)`,
      })
    }
    const reading = yield* (yield* open(sites)).read(definition, id).pipe(failedTo(`read ${ref}`))
    if (args.json) {
      yield* Console.log(
        JSON.stringify({
          register: definition.name,
          id,
          kind: definition.kind.kind,
          value: reading.value,
          concurrent: reading.concurrent,
          unresolved: reading.unresolved,
          hlc: reading.snapshot.hlc,
          context: reading.snapshot.context,
          sites: reading.sites.map(siteJson),
        }),
      )
      return
    }
    yield* Console.log(`${ref} (${definition.kind.kind}) = ${JSON.stringify(reading.value)}`)
    yield* Console.log(
      reading.concurrent
        ? "concurrent: yes, sites hold writes the others have not seen (a merge is due)"
        : "concurrent: no",
    )
    yield* Console.log(`unresolved: ${reading.unresolved.length === 0 ? "none" : reading.unresolved.length}`)
    for (const u of reading.unresolved) yield* Console.log(`  ${JSON.stringify(u)}`)
    const siteWidth = Math.max(...reading.sites.map((s) => s.site.length))
    for (const s of reading.sites) {
      const j = siteJson(s)
      yield* Console.log(
        `site ${s.site.padEnd(siteWidth)}  revision ${j.revision}  version ${j.version}  last writer ${j.writer ?? "-"}${j.change === "Merge" ? " (merge)" : ""}  hlc ${formatHlc(j.hlc)}  context ${formatContext(j.context)}`,
      )
    }
  }).pipe(Effect.scoped)

/** `mesh registers history`: every change of an instance at every site, oldest first. */
export const history = (
  args: Target & { readonly register: string; readonly id: string; readonly json: boolean },
) =>
  Effect.gen(function* () {
    const definition = yield* registerNamed(args.register)
    const id = yield* subjectToken("register id", args.id)
    const ref = `${definition.name}/${id}`
    const { open } = yield* connect(args)
    const changes = yield* (yield* open())
      .history(definition.name, id)
      .pipe(failedTo(`read the history of ${ref}`))
    const valueAfter = valueReader(definition)
    for (const e of changes)
      yield* Console.log(args.json ? changeJson(e, valueAfter(e)) : formatChange(e, valueAfter(e), false))
    if (args.json) return
    const lastVersions = new Map<string, number>()
    for (const e of changes) lastVersions.set(e.payload.site, e.payload.version)
    const sites = [...lastVersions].map(([site, version]) => `${site} at v${version}`).join(", ")
    yield* Console.log(`${plural(changes.length, "change")}${sites === "" ? "" : `; ${sites}`}`)
  }).pipe(Effect.scoped)

/** `mesh registers watch`: changes as they land in the bucket, until interrupted or the connection is lost. */
export const watch = (args: Target & { readonly register: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function* () {
    if (Option.isSome(args.register)) yield* registerNamed(args.register.value)
    const { url, nats, bucket, open } = yield* connect(args)
    const registers = yield* open()
    const readers = new Map(declared.map((r) => [r.name, valueReader(r)] as const))
    // Watching never ends by itself: when it does, say why rather than exit as if done.
    const ended = Effect.suspend(() =>
      nats.connection.isClosed()
        ? connectionLost(nats, url)
        : meshError({ _tag: "Failed", message: `the watch of ${bucket} ended` }),
    )
    yield* registers.watch(Option.getOrUndefined(args.register)).pipe(
      Stream.runForEach((e) => {
        const after = readers.get(e.payload.register)?.(e)
        return Console.log(args.json ? changeJson(e, after) : formatChange(e, after, true))
      }),
      failedTo(`watch the registers in ${bucket}`),
      Effect.andThen(ended),
      // A lost server must end it, not leave it waiting.
      Effect.raceFirst(connectionLost(nats, url)),
    )
  }).pipe(Effect.scoped)
