import { Result, Schema } from "effect"
import { canonicalJson } from "../canonical.ts"
import { SubjectToken } from "../subjects.ts"
import {
  compareStamp,
  covers,
  Dot,
  type Hlc,
  mergeVersionVectors,
  put,
  SiteId,
  Stamp,
  VersionVector,
  type WriterId,
} from "./clock.ts"

// Register kinds are state-based CRDTs: a state, the operations a writer applies to it, and a merge
// that is commutative, associative and idempotent, so that replicas receiving each other's states
// in any order, any number of times, end equal. Every function here is pure; the writer's identity,
// clock and causal context arrive in a `WriteContext`.

/** What a writer brings to one write. */
export interface WriteContext {
  readonly writer: WriterId
  readonly site: SiteId
  readonly hlc: Hlc
  /** This write's dot: the writer's next counter in the register's context. */
  readonly dot: Dot
  /**
   * What the writer had seen when it decided the write: the register's context at its read. A
   * writer acting on a stale view observed less than the register now holds, and the writes it did
   * not see stay beside its own (multi-value) or win against its remove (add-wins set).
   */
  readonly observed: VersionVector
}

/** Why an operation was refused; the register is unchanged. */
export const RegisterRejection = Schema.Union([
  Schema.TaggedStruct("BoundExceeded", { requested: Schema.Number, available: Schema.Number }),
  Schema.TaggedStruct("UnknownReservation", { reservation: Schema.String }),
  Schema.TaggedStruct("NotReservationSite", { reservation: Schema.String, site: Schema.String }),
  Schema.TaggedStruct("ReservationSettled", { reservation: Schema.String, status: Schema.String }),
  Schema.TaggedStruct("ReservationTaken", {
    reservation: Schema.String,
    site: Schema.String,
    status: Schema.String,
    quantity: Schema.Number,
  }),
  Schema.TaggedStruct("OperationRejected", { message: Schema.String }),
])
/** Why an operation was refused; the register is unchanged. */
export type RegisterRejection = typeof RegisterRejection.Type

/** One sentence naming why an operation was refused. */
export const describeRejection = (rejection: RegisterRejection): string => {
  switch (rejection._tag) {
    case "BoundExceeded":
      return `${rejection.requested} requested but only ${rejection.available} available at this site`
    case "UnknownReservation":
      return `no reservation ${rejection.reservation}`
    case "NotReservationSite":
      return `reservation ${rejection.reservation} was taken at site ${rejection.site} and is settled there`
    case "ReservationSettled":
      return `reservation ${rejection.reservation} is already ${rejection.status}`
    case "ReservationTaken":
      return `reservation ${rejection.reservation} was already taken at site ${rejection.site} for ${rejection.quantity} (${rejection.status})`
    case "OperationRejected":
      return rejection.message
  }
}

/**
 * A register type: its state and operation codecs (JSON on the wire), the empty state, how an
 * operation changes a state, how two states merge, and what readers see.
 */
export interface RegisterKind<S = unknown, O = unknown, V = unknown> {
  /** `counter`, `last-writer-wins`, … or `custom:<name>`. */
  readonly kind: string
  readonly state: Schema.Codec<S, unknown>
  readonly op: Schema.Codec<O, unknown>
  readonly empty: S
  readonly apply: (state: S, op: O, write: WriteContext) => Result.Result<S, RegisterRejection>
  /** Commutative, associative and idempotent. */
  readonly merge: (a: S, b: S) => S
  readonly read: (state: S) => V
  /**
   * The concurrent values that no merge rule settles and that wait for a resolution (a multi-value
   * register's siblings, a reservation taken twice); empty when the state is settled.
   */
  readonly unresolved: (state: S) => ReadonlyArray<unknown>
  /**
   * The operation that settles an unresolved state on a value a human chose among those `read`
   * shows, written with the escalated context as what the writer observed. Kinds without it settle
   * their conflicts by other means (a reservation taken twice is released by its site).
   */
  readonly settle?: ((chosen: unknown) => O) | undefined
}

const settled = (): ReadonlyArray<unknown> => []
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const byKey =
  <A>(key: (a: A) => string) =>
  (x: A, y: A) => {
    const a = key(x)
    const b = key(y)
    return a < b ? -1 : a > b ? 1 : 0
  }
const dotKey = (dot: Dot): string => `${dot.writer}#${String(dot.counter).padStart(12, "0")}`
/**
 * A tally's own entry, 0 when it has none. Site and reservation ids such as `constructor` or
 * `__proto__` are valid, and a plain lookup would read Object.prototype's member instead.
 */
const entryOf = (record: Readonly<Record<string, number>>, key: string): number =>
  Object.hasOwn(record, key) ? (record[key] as number) : 0
const maxRecords = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) => {
  const merged: Record<string, number> = {}
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    put(merged, key, Math.max(entryOf(a, key), entryOf(b, key)))
  }
  return merged
}
const addTo = (record: Readonly<Record<string, number>>, key: string, amount: number) => {
  const next: Record<string, number> = {}
  for (const k of [...new Set([...Object.keys(record), key])].sort()) {
    put(next, k, entryOf(record, k) + (k === key ? amount : 0))
  }
  return next
}
const sum = (record: Readonly<Record<string, number>>): number =>
  Object.values(record).reduce((total, n) => total + n, 0)

// ---- counter ------------------------------------------------------------------------------------

const CounterState = Schema.Struct({
  increments: Schema.Record(Schema.String, NonNegativeInt),
  decrements: Schema.Record(Schema.String, NonNegativeInt),
})
const CounterOp = Schema.TaggedStruct("Add", { amount: Schema.Int })

/**
 * A counter of increments and decrements kept per writer (a PN-counter): each writer only grows its
 * own two tallies and a merge keeps each tally's maximum, so no increment is ever lost or counted
 * twice, whatever the order or repetition of deliveries.
 */
export const counter: RegisterKind<typeof CounterState.Type, typeof CounterOp.Type, number> = {
  kind: "counter",
  state: CounterState,
  op: CounterOp,
  empty: { increments: {}, decrements: {} },
  apply: (state, op, write) =>
    Result.succeed(
      op.amount >= 0
        ? { ...state, increments: addTo(state.increments, write.writer, op.amount) }
        : { ...state, decrements: addTo(state.decrements, write.writer, -op.amount) },
    ),
  merge: (a, b) => ({
    increments: maxRecords(a.increments, b.increments),
    decrements: maxRecords(a.decrements, b.decrements),
  }),
  read: (state) => sum(state.increments) - sum(state.decrements),
  unresolved: settled,
}

// ---- last writer wins ---------------------------------------------------------------------------

/** The later stamp wins; equal stamps (one write seen twice) keep one value, chosen by its JSON. */
const laterOf = <T extends { readonly stamp: Stamp; readonly value: unknown }>(a: T, b: T): T => {
  const order = compareStamp(a.stamp, b.stamp)
  if (order !== 0) return order > 0 ? a : b
  return canonicalJson(a.value) >= canonicalJson(b.value) ? a : b
}

/** A value replaced by every write; concurrent writes are ordered by hybrid logical clock, then writer id. */
export const lastWriterWins = <T, E>(value: Schema.Codec<T, E>) => {
  const Entry = Schema.Struct({ value, stamp: Stamp })
  const State = Schema.Struct({ current: Schema.NullOr(Entry) })
  const Op = Schema.TaggedStruct("Set", { value })
  type State = typeof State.Type
  const kind: RegisterKind<State, typeof Op.Type, T | null> = {
    kind: "last-writer-wins",
    state: State as Schema.Codec<State, unknown>,
    op: Op as Schema.Codec<typeof Op.Type, unknown>,
    empty: { current: null },
    apply: (state, op, write) => {
      const next = { value: op.value, stamp: { hlc: write.hlc, writer: write.writer } }
      return Result.succeed({ current: state.current === null ? next : laterOf(state.current, next) })
    },
    merge: (a, b) => ({
      current:
        a.current === null ? b.current : b.current === null ? a.current : laterOf(a.current, b.current),
    }),
    read: (state) => state.current?.value ?? null,
    unresolved: settled,
  }
  return kind
}

// ---- add-wins set -------------------------------------------------------------------------------

/**
 * A set where an add concurrent with a remove of the same element wins (an observed-remove set
 * without tombstones): each add is tagged with its dot, a remove drops only the dots its writer had
 * observed, and a merge keeps a dot unless the other side has seen it and dropped it.
 */
export const addWinsSet = <T, E>(element: Schema.Codec<T, E>) => {
  const Entry = Schema.Struct({ element, dots: Schema.Array(Dot) })
  const State = Schema.Struct({ entries: Schema.Array(Entry), context: VersionVector })
  const Op = Schema.Union([
    Schema.TaggedStruct("Add", { element }),
    Schema.TaggedStruct("Remove", { element }),
  ])
  type State = typeof State.Type
  type Entry = typeof Entry.Type
  const keyOf = (x: T) => canonicalJson(x)
  const normalise = (entries: Iterable<Entry>): ReadonlyArray<Entry> =>
    [...entries]
      .filter((entry) => entry.dots.length > 0)
      .map((entry) => ({ element: entry.element, dots: [...entry.dots].sort(byKey(dotKey)) }))
      .sort(byKey((entry) => keyOf(entry.element)))
  const kind: RegisterKind<State, typeof Op.Type, ReadonlyArray<T>> = {
    kind: "add-wins-set",
    state: State as Schema.Codec<State, unknown>,
    op: Op as Schema.Codec<typeof Op.Type, unknown>,
    empty: { entries: [], context: {} },
    apply: (state, op, write) => {
      const key = keyOf(op.element)
      const others = state.entries.filter((entry) => keyOf(entry.element) !== key)
      const current = state.entries.find((entry) => keyOf(entry.element) === key)
      // Dots of this element that the writer had not seen are concurrent adds: they stay.
      const unseen = (current?.dots ?? []).filter((dot) => !covers(write.observed, dot))
      const dots = op._tag === "Add" ? [...unseen, write.dot] : unseen
      const context =
        op._tag === "Add"
          ? mergeVersionVectors(state.context, { [write.dot.writer]: write.dot.counter })
          : state.context
      return Result.succeed({
        entries: normalise([...others, { element: current?.element ?? op.element, dots }]),
        context,
      })
    },
    merge: (a, b) => {
      const keys = new Map<string, { element: T; dots: Map<string, Dot> }>()
      const index = (state: State) =>
        new Map(state.entries.map((entry) => [keyOf(entry.element), entry] as const))
      const aIndex = index(a)
      const bIndex = index(b)
      const survivors = (
        mine: Map<string, Entry>,
        theirs: Map<string, Entry>,
        theirContext: VersionVector,
      ) => {
        for (const [key, entry] of mine) {
          const otherDots = new Set((theirs.get(key)?.dots ?? []).map(dotKey))
          for (const dot of entry.dots) {
            // A dot survives if both sides hold it, or the other side never saw it (so never removed it).
            if (otherDots.has(dotKey(dot)) || !covers(theirContext, dot)) {
              const slot = keys.get(key) ?? { element: entry.element, dots: new Map<string, Dot>() }
              slot.dots.set(dotKey(dot), dot)
              keys.set(key, slot)
            }
          }
        }
      }
      survivors(aIndex, bIndex, b.context)
      survivors(bIndex, aIndex, a.context)
      return {
        entries: normalise(
          [...keys.values()].map((slot) => ({ element: slot.element, dots: [...slot.dots.values()] })),
        ),
        context: mergeVersionVectors(a.context, b.context),
      }
    },
    read: (state) => state.entries.map((entry) => entry.element),
    unresolved: settled,
  }
  return kind
}

// ---- max and min --------------------------------------------------------------------------------

const extreme =
  (name: "max" | "min") =>
  <T, E>(value: Schema.Codec<T, E>, order: (a: T, b: T) => number) => {
    const State = Schema.Struct({ value: Schema.NullOr(value) })
    const Op = Schema.TaggedStruct("Offer", { value })
    type State = typeof State.Type
    const sign = name === "max" ? 1 : -1
    // Values equal in the order but different in content (two objects of one rank) fall back to their JSON.
    const pick = (a: T, b: T): T => {
      const order = sign * order_(a, b)
      if (order !== 0) return order > 0 ? a : b
      return canonicalJson(a) >= canonicalJson(b) ? a : b
    }
    const order_ = order
    const kind: RegisterKind<State, typeof Op.Type, T | null> = {
      kind: name,
      state: State as Schema.Codec<State, unknown>,
      op: Op as Schema.Codec<typeof Op.Type, unknown>,
      empty: { value: null },
      apply: (state, op) =>
        Result.succeed({ value: state.value === null ? op.value : pick(state.value, op.value) }),
      merge: (a, b) => ({
        value: a.value === null ? b.value : b.value === null ? a.value : pick(a.value, b.value),
      }),
      read: (state) => state.value,
      unresolved: settled,
    }
    return kind
  }

const numeric = (a: number, b: number) => a - b
const textual = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

// Finite numbers only by default: NaN has no place in an order (a merge with it would depend on
// its operands' order) and JSON writes it as null.
/** The greatest value offered (a finite number, by default). */
export const maxRegister = <T = number, E = number>(
  value: Schema.Codec<T, E> = Schema.Finite as unknown as Schema.Codec<T, E>,
  order: (a: T, b: T) => number = numeric as unknown as (a: T, b: T) => number,
) => extreme("max")(value, order)

/** The least value offered (a finite number, by default). */
export const minRegister = <T = number, E = number>(
  value: Schema.Codec<T, E> = Schema.Finite as unknown as Schema.Codec<T, E>,
  order: (a: T, b: T) => number = numeric as unknown as (a: T, b: T) => number,
) => extreme("min")(value, order)

/** Orders strings by code unit. */
export const textualOrder = textual

/**
 * Orders ISO-8601 instants by the time they name, whatever their fractional precision
 * (`…00Z` is before `…00.500Z`, which a textual order gets wrong); equal instants fall back to text.
 */
export const instantOrder = (a: string, b: string): number => Date.parse(a) - Date.parse(b) || textual(a, b)

// ---- multi-value --------------------------------------------------------------------------------

/**
 * A value whose concurrent writes are all kept (siblings) until a write that has seen them all
 * replaces them: a writer resolves a conflict by writing after reading every sibling.
 */
export const multiValue = <T, E>(value: Schema.Codec<T, E>) => {
  const Sibling = Schema.Struct({ value, dot: Dot, stamp: Stamp })
  const State = Schema.Struct({ siblings: Schema.Array(Sibling), context: VersionVector })
  const Op = Schema.TaggedStruct("Set", { value })
  type State = typeof State.Type
  type Sibling = typeof Sibling.Type
  const sorted = (siblings: Iterable<Sibling>) => [...siblings].sort(byKey((s) => dotKey(s.dot)))
  const kind: RegisterKind<State, typeof Op.Type, ReadonlyArray<T>> = {
    kind: "multi-value",
    state: State as Schema.Codec<State, unknown>,
    op: Op as Schema.Codec<typeof Op.Type, unknown>,
    empty: { siblings: [], context: {} },
    apply: (state, op, write) =>
      Result.succeed({
        siblings: sorted([
          ...state.siblings.filter((s) => !covers(write.observed, s.dot)),
          { value: op.value, dot: write.dot, stamp: { hlc: write.hlc, writer: write.writer } },
        ]),
        context: mergeVersionVectors(state.context, { [write.dot.writer]: write.dot.counter }),
      }),
    merge: (a, b) => {
      const kept = new Map<string, Sibling>()
      for (const [mine, theirs] of [
        [a, b],
        [b, a],
      ] as const) {
        const held = new Set(theirs.siblings.map((s) => dotKey(s.dot)))
        for (const sibling of mine.siblings) {
          if (held.has(dotKey(sibling.dot)) || !covers(theirs.context, sibling.dot)) {
            kept.set(dotKey(sibling.dot), sibling)
          }
        }
      }
      return { siblings: sorted(kept.values()), context: mergeVersionVectors(a.context, b.context) }
    },
    // Latest first, so that a reader wanting one value takes the first.
    read: (state) =>
      [...state.siblings].sort((x, y) => compareStamp(y.stamp, x.stamp)).map((sibling) => sibling.value),
    unresolved: (state) => (state.siblings.length > 1 ? state.siblings : []),
    // The chosen value is one `read` showed; the write's encoding checks it against the schema again.
    settle: (chosen) => ({ _tag: "Set", value: chosen as T }),
  }
  return kind
}

// ---- reservations -------------------------------------------------------------------------------

/** The id of one reservation (an order line, say). */
export const ReservationId = SubjectToken

const ReservationStatus = Schema.Literals(["held", "confirmed", "released"])
const Reservation = Schema.Struct({
  reservation: ReservationId,
  /** The site that took it, the only one that confirms or releases it. */
  site: SiteId,
  quantity: PositiveInt,
  status: ReservationStatus,
})
type Reservation = typeof Reservation.Type
const ReservationsState = Schema.Struct({
  /** `granted["a>b"]`: units site a gave site b; `granted["a>a"]`: units added at a (stock, releases). */
  granted: Schema.Record(Schema.String, NonNegativeInt),
  /** Units each site has used up (reservations taken, stock written off). */
  spent: Schema.Record(Schema.String, NonNegativeInt),
  reservations: Schema.Array(Reservation),
})
type ReservationsState = typeof ReservationsState.Type
const ReservationsOp = Schema.Union([
  Schema.TaggedStruct("Restock", { quantity: PositiveInt }),
  Schema.TaggedStruct("WriteOff", { quantity: PositiveInt }),
  Schema.TaggedStruct("Take", { reservation: ReservationId, quantity: PositiveInt }),
  Schema.TaggedStruct("Confirm", { reservation: ReservationId }),
  Schema.TaggedStruct("Release", { reservation: ReservationId }),
  Schema.TaggedStruct("Transfer", { to: SiteId, quantity: PositiveInt }),
])

/** What a reservations register reads as. */
export interface ReservationsView {
  /** Units free to promise, over all sites. */
  readonly available: number
  /** Units each site may still promise on its own, even cut off from the others. */
  readonly availableBySite: Readonly<Record<string, number>>
  readonly held: number
  readonly confirmed: number
  readonly reservations: ReadonlyArray<Reservation>
}

const grant = (from: string, to: string) => `${from}>${to}`
const statusRank = { held: 0, released: 1, confirmed: 2 } as const

/** Units a site may promise by itself: what it added or was given, less what it spent or gave away. */
export const localRights = (state: ReservationsState, site: string): number => {
  // 0 - x rather than -x: a site that spent nothing has 0 rights spent, not -0.
  let rights = 0 - entryOf(state.spent, site)
  for (const [key, amount] of Object.entries(state.granted)) {
    const [from, to] = key.split(">") as [string, string]
    if (to === site) rights += amount
    else if (from === site) rights -= amount
  }
  return rights
}

const reservationKey = (r: Reservation) => `${r.reservation}@${r.site}`

/**
 * Stock that is never promised twice (a bounded counter with escrow): every site holds rights to a
 * share of the units and spends only its own, so the bound holds on every replica even while the
 * sites are cut off from each other; `Transfer` moves rights between sites. A reservation is
 * taken (spending rights), then confirmed or released (returning them), by the site that took it.
 * The same reservation taken at two sites while they were apart is kept twice and left unresolved.
 */
export const reservations: RegisterKind<ReservationsState, typeof ReservationsOp.Type, ReservationsView> = {
  kind: "reservations",
  state: ReservationsState,
  op: ReservationsOp,
  empty: { granted: {}, spent: {}, reservations: [] },
  apply: (state, op, write) => {
    const site = write.site
    const available = localRights(state, site)
    const spend = (quantity: number) =>
      quantity > available
        ? Result.fail({ _tag: "BoundExceeded", requested: quantity, available } as const)
        : Result.succeed(addTo(state.spent, site, quantity))
    const settle = (reservation: string, status: "confirmed" | "released") => {
      const held = state.reservations.filter((r) => r.reservation === reservation)
      const own = held.find((r) => r.site === site)
      if (own === undefined) {
        const first = held[0]
        return first === undefined
          ? Result.fail<RegisterRejection>({ _tag: "UnknownReservation", reservation })
          : Result.fail<RegisterRejection>({ _tag: "NotReservationSite", reservation, site: first.site })
      }
      if (own.status === status) return Result.succeed(state)
      if (own.status !== "held") {
        return Result.fail<RegisterRejection>({ _tag: "ReservationSettled", reservation, status: own.status })
      }
      return Result.succeed({
        ...state,
        granted:
          status === "released" ? addTo(state.granted, grant(site, site), own.quantity) : state.granted,
        reservations: state.reservations.map((r) => (r === own ? { ...r, status } : r)),
      })
    }
    switch (op._tag) {
      case "Restock":
        return Result.succeed({ ...state, granted: addTo(state.granted, grant(site, site), op.quantity) })
      case "WriteOff":
        return Result.map(spend(op.quantity), (spent) => ({ ...state, spent }))
      case "Transfer":
        if (op.to === site) return Result.succeed(state)
        return op.quantity > available
          ? Result.fail({ _tag: "BoundExceeded", requested: op.quantity, available })
          : Result.succeed({ ...state, granted: addTo(state.granted, grant(site, op.to), op.quantity) })
      case "Take": {
        // Taking a reservation again (a redelivered order) changes nothing, as long as it is the same
        // one: held or confirmed here, for the same quantity. Any other (taken elsewhere, released,
        // another quantity) is refused, so that a caller never believes it holds stock it does not.
        const existing = state.reservations.find((r) => r.reservation === op.reservation)
        if (existing !== undefined) {
          return existing.site === site && existing.quantity === op.quantity && existing.status !== "released"
            ? Result.succeed(state)
            : Result.fail({
                _tag: "ReservationTaken",
                reservation: op.reservation,
                site: existing.site,
                status: existing.status,
                quantity: existing.quantity,
              })
        }
        return Result.map(spend(op.quantity), (spent) => ({
          ...state,
          spent,
          reservations: [
            ...state.reservations,
            { reservation: op.reservation, site, quantity: op.quantity, status: "held" as const },
          ].sort(byKey(reservationKey)),
        }))
      }
      case "Confirm":
        return settle(op.reservation, "confirmed")
      case "Release":
        return settle(op.reservation, "released")
    }
  },
  merge: (a, b) => {
    const byId = new Map<string, Reservation>()
    for (const r of [...a.reservations, ...b.reservations]) {
      const key = reservationKey(r)
      const seen = byId.get(key)
      if (seen === undefined || statusRank[r.status] > statusRank[seen.status]) byId.set(key, r)
    }
    return {
      granted: maxRecords(a.granted, b.granted),
      spent: maxRecords(a.spent, b.spent),
      reservations: [...byId.values()].sort(byKey(reservationKey)),
    }
  },
  read: (state) => {
    const sites = new Set<string>(Object.keys(state.spent))
    for (const key of Object.keys(state.granted)) for (const site of key.split(">")) sites.add(site)
    const availableBySite: Record<string, number> = {}
    for (const site of [...sites].sort()) put(availableBySite, site, localRights(state, site))
    const total = (status: Reservation["status"]) =>
      state.reservations.filter((r) => r.status === status).reduce((n, r) => n + r.quantity, 0)
    const added = Object.entries(state.granted)
      .filter(([key]) => {
        const [from, to] = key.split(">")
        return from === to
      })
      .reduce((n, [, amount]) => n + amount, 0)
    return {
      available: added - sum(state.spent),
      availableBySite,
      held: total("held"),
      confirmed: total("confirmed"),
      reservations: state.reservations,
    }
  },
  unresolved: (state) => {
    const sites = new Map<string, Array<Reservation>>()
    for (const r of state.reservations) sites.set(r.reservation, [...(sites.get(r.reservation) ?? []), r])
    return [...sites.values()].filter((taken) => taken.filter((r) => r.status !== "released").length > 1)
  },
}

// ---- custom -------------------------------------------------------------------------------------

/**
 * A register with a domain's own merge. Its merge must be commutative, associative and idempotent
 * (a join), which `registerLawsHold` in `@mesh/contracts/testing` checks on generated states; a
 * merge that is not would leave replicas apart.
 */
export const customRegister = <S, O, V>({
  name,
  unresolved,
  ...kind
}: Omit<RegisterKind<S, O, V>, "kind" | "unresolved" | "settle"> & {
  readonly name: string
  readonly unresolved?: (state: S) => ReadonlyArray<unknown>
}): RegisterKind<S, O, V> => ({ ...kind, kind: `custom:${name}`, unresolved: unresolved ?? settled })
