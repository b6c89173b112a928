import { ActionGate, makeActionCommands } from "@mesh/actions"
import { listingStatus, parseTenantScopedId, stockReservations, tenantScopedId } from "@mesh/contracts"
import { MeshNamespace, NatsClient } from "@mesh/eventlog"
import type { Reaction, ReactorDefinition } from "@mesh/kernel"
import { DecisionRecorder, decideEachOnce, decisionIdFor, type ModelProvider } from "@mesh/models"
import { Registers } from "@mesh/registers"
import { Effect } from "effect"
import type { ContentOpsDefs } from "../catalog.ts"
import { ContentOpsSettings } from "../config.ts"
import { ContentLedger, type ListingAt } from "../contentLedger.ts"
import { checkListing } from "../listing/factCheck.ts"
import { availabilityActionId, type ListingCommand, listingIdOf } from "../listing/listing.ts"
import { contentOpsSkillActions } from "../skills/actions.ts"
import { draftListing, draftListingBatch } from "../skills/draftListing.ts"

const toListing = (listingId: string, command: ListingCommand): Reaction => ({
  aggregateType: "listing",
  aggregateId: listingId,
  command,
})

/** The action kinds content ops asks for. */
export const publishListingKind = contentOpsSkillActions["publish-listing"]
/** Marks a listing available to order or not. */
export const setAvailabilityKind = "storefront.set-availability"
/** What the policy's allow-list calls the agent's own availability changes (no model decides them). */
export const stockWatchSkill = "stockWatch"

/**
 * New product facts become a listing draft, decided once by the `draftListing` skill and recorded,
 * then checked against the facts at once: a material, number or claim the facts do not hold is a
 * finding, recorded with the check. Both are commands of the listing, so a redelivery drafts and
 * checks nothing twice.
 *
 * Drafting is background work, so it is batched: the listing's facts are asked of the model with
 * those of other listings still waiting for a draft (a catalogue import, a backlog), up to
 * `MESH_LISTING_BATCH_SIZE` a call, each decided for its own facts' event. When their own events come, their
 * decisions are read back, not asked again. Facts drafted before (the same input) reuse that draft.
 */
export const draftListings = (options: {
  readonly agent: string
}): ReactorDefinition<
  ContentOpsDefs,
  unknown,
  ModelProvider | DecisionRecorder | ContentLedger | ContentOpsSettings
> => ({
  name: "content-ops-drafting",
  consumes: { domain: "content" },
  eventTypes: ["ProductFactsRecorded"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "ProductFactsRecorded") return []
      const { facts, version } = event.payload
      const inputOf = (f: typeof facts) => {
        const { tenantId: _tenant, ...input } = f
        return input
      }
      const listingId = listingIdOf(facts)
      const batchSize = (yield* ContentOpsSettings).listingBatchSize
      const step = draftListing.name
      const recorder = yield* DecisionRecorder
      const decidedAlready = (cause: { readonly eventId: string }) =>
        recorder.load(options.agent, decisionIdFor(step, cause.eventId)).pipe(
          Effect.as(true),
          Effect.catchReason("DecisionError", "DecisionNotFound", () => Effect.succeed(false)),
        )
      // Others waiting for a draft go along, unless this one's decision is made (a redelivery) or
      // theirs are (a draft the skill declined leaves its facts waiting for a person, not a model).
      const others =
        batchSize <= 1 || (yield* decidedAlready(event))
          ? []
          : yield* Effect.filter(
              yield* (yield* ContentLedger).awaitingDraft(batchSize * 4, listingId),
              (waiting) => Effect.map(decidedAlready(waiting.recorded), (made) => !made),
            ).pipe(Effect.map((waiting) => waiting.slice(0, batchSize - 1)))
      const [decided] = yield* decideEachOnce(
        draftListingBatch,
        [
          { input: inputOf(facts), cause: event },
          ...others.map((waiting) => ({ input: inputOf(waiting.facts), cause: waiting.recorded })),
        ],
        // Facts recorded again unchanged (a re-import, a version bump of other fields) reuse the
        // draft made for them: the draft depends on the facts alone.
        { agent: options.agent, step, reuseByInput: true },
      )
      const draft = decided?.output ?? null
      if (decided === undefined || draft === null) {
        // No draft the skill stands by: a person writes this listing (nothing is published).
        return []
      }
      const findings = checkListing(facts, draft)
      return [
        toListing(listingId, {
          _tag: "RecordDraft",
          version,
          title: draft.title,
          description: draft.description,
          bullets: draft.bullets,
          tags: draft.tags,
          decisionId: decided.decisionId,
        }),
        toListing(listingId, { _tag: "RecordCheck", draftVersion: version, findings }),
      ]
    }),
})

/**
 * What publishing a checked draft puts on the storefront: the draft and the facts as they stood at
 * its check (what was checked), or null. Null when the check names another draft than the one
 * then latest or the facts had moved on from it by then (the newer facts' draft publishes), and
 * when a newer draft supersedes it by now: a consumer that lags would only race the newer one's
 * publication to the storefront. Nothing else read now decides it, so a replay that runs the
 * reaction once the whole day is in the log asks for what the day asked.
 */
export const publicationOf = (at: ListingAt, draftVersion: number) => {
  const { asOf, latest } = at
  if (asOf.status === "absent" || asOf.draft?.version !== draftVersion || asOf.factsVersion !== draftVersion)
    return null
  if (latest.status === "known" && (latest.draft?.version ?? 0) > draftVersion) return null
  return { ...asOf.draft, sku: asOf.facts.sku, price: asOf.facts.price }
}

/**
 * The listing-status register's value for a version just published: out of stock if the listing
 * was when it was published (a new version published during a stock-out stays out of stock),
 * whatever flipped since (each flip writes the register itself, in order).
 */
export const publishedStatusOf = (at: ListingAt): "published" | "out-of-stock" =>
  at.asOf.status === "known" && !at.asOf.inStock ? "out-of-stock" : "published"

/**
 * A checked draft is asked of the action gate: the agent's own floor holds a draft with findings for
 * a person (an approval is the only way an invented fact reaches the storefront), and the policy file
 * says whether a clean draft publishes on its own.
 */
export const publishListings = (options: {
  readonly agent: string
}): ReactorDefinition<ContentOpsDefs, unknown, ActionGate | ContentLedger> => ({
  name: "content-ops-publishing",
  consumes: { domain: "content" },
  eventTypes: ["ListingChecked"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "ListingChecked") return []
      const { findings, actionId } = event.payload
      const draft = publicationOf(
        yield* (yield* ContentLedger).listingAt(event.aggregateId, event.aggregateVersion),
        event.payload.draftVersion,
      )
      if (draft === null) return []
      yield* (yield* ActionGate).request({
        actionId,
        agent: options.agent,
        skill: draftListing.name,
        kind: publishListingKind,
        parameters: {
          sku: draft.sku,
          title: draft.title,
          priceMinor: draft.price.amountMinor,
          currency: draft.price.currency,
        },
        cause: { decisionId: draft.decisionId, eventId: event.eventId },
        confidence: null,
        sentiment: null,
        firstTimeSupplier: null,
        floor:
          findings.length === 0
            ? null
            : {
                mode: "require-approval",
                rule: "listing-fact-check",
                reason: findings.map((f) => f.detail).join("; "),
              },
        correlationId: event.correlationId,
        causationId: event.eventId,
      })
      return []
    }),
})

/**
 * A listing's life in the shared registers and on the storefront: published, it is `published` in
 * the listing-status register (which the resolver checks against the stock on hand) and its
 * availability is checked at once, since a stock-out may have come while it was being published; a
 * flip to out of stock or back is asked of the storefront and written to the register.
 */
export const trackListings = (options: {
  readonly agent: string
}): ReactorDefinition<
  ContentOpsDefs,
  unknown,
  Registers | ActionGate | ContentLedger | NatsClient | MeshNamespace
> => ({
  name: "content-ops-listings",
  consumes: { domain: "content" },
  eventTypes: ["ListingPublished", "ListingMarkedOutOfStock", "ListingBackInStock"],
  react: (event) =>
    Effect.gen(function* () {
      const registers = yield* Registers
      const gate = yield* ActionGate
      // The listing's id is also its registers' id (its tenant's SKU).
      const listingId = event.aggregateId
      const write = {
        correlationId: event.correlationId,
        causationId: event.eventId,
        actor: { kind: "agent" as const, id: options.agent },
      }
      // Availability changes reach the storefront in the order the listing made them: the executor runs
      // actions side by side, so the next waits until the one before has settled (an out-of-stock
      // overtaken by the back-in-stock after it would leave the storefront wrong).
      const settled = (actionId: string) =>
        Effect.gen(function* () {
          const flip = /-(\d+)$/.exec(actionId)
          const n = flip === null ? 1 : Number(flip[1])
          if (n <= 1) return
          const previous = availabilityActionId(listingId, n - 1)
          const actions = makeActionCommands({
            nats: yield* NatsClient,
            namespace: (yield* MeshNamespace).name,
          })
          for (let waited = 0; waited < 60_000; waited += 100) {
            const { state } = yield* actions.load(options.agent, previous)
            if (!["pending", "attempting", "awaiting-approval"].includes(state.status)) return
            yield* Effect.sleep(100)
          }
          yield* Effect.logWarning(`${previous} has not settled after a minute; ${actionId} goes ahead`)
        })
      const ask = (actionId: string, sku: string, inStock: boolean) =>
        gate.request({
          actionId,
          agent: options.agent,
          skill: stockWatchSkill,
          kind: setAvailabilityKind,
          parameters: { sku, inStock },
          cause: { decisionId: null, eventId: event.eventId },
          confidence: null,
          sentiment: null,
          firstTimeSupplier: null,
          correlationId: event.correlationId,
          causationId: event.eventId,
        })
      switch (event.type) {
        case "ListingPublished": {
          const status = publishedStatusOf(
            yield* (yield* ContentLedger).listingAt(listingId, event.aggregateVersion),
          )
          yield* registers.write(listingStatus, listingId, { _tag: "Set", status }, write)
          const free = yield* registers.read(stockReservations, listingId)
          return [
            toListing(listingId, {
              _tag: "UpdateAvailability",
              available: Math.max(0, free.value.available),
              reason: "no unit was free to promise when it was published",
            }),
          ]
        }
        case "ListingMarkedOutOfStock":
          yield* settled(event.payload.actionId)
          yield* ask(event.payload.actionId, event.payload.sku, false)
          yield* registers.write(listingStatus, listingId, { _tag: "Set", status: "out-of-stock" }, write)
          return []
        case "ListingBackInStock":
          yield* settled(event.payload.actionId)
          yield* ask(event.payload.actionId, event.payload.sku, true)
          yield* registers.write(listingStatus, listingId, { _tag: "Set", status: "published" }, write)
          return []
        default:
          return []
      }
    }),
})

/**
 * Stock, as procurement records it: after each reservation, back-order, release, return or restock
 * of a SKU, the units free to promise are read from the reservations register and the listing flips
 * to out of stock or back. A violation of "a published listing has stock", which the resolver
 * records when a publication raced a stock-out, is answered the same way.
 */
export const watchStock = (): ReactorDefinition<ContentOpsDefs, unknown, Registers> => ({
  name: "content-ops-stock",
  consumes: { domain: "procurement" },
  eventTypes: [
    "OrderStockReserved",
    "OrderStockBackordered",
    "OrderStockReleased",
    "OrderStockReturned",
    // Recorded by procurement once received goods or the opening stock are in the register (the
    // receipt's own event comes before them).
    "StockRestocked",
  ],
  react: (event) =>
    Effect.gen(function* () {
      let listingId: string
      switch (event.type) {
        // A stock item's id is its tenant's SKU, the listing's id too.
        case "StockRestocked":
          listingId = event.aggregateId
          break
        // An allocation's id is its tenant's order: the SKU is the line's, in the order's tenant.
        case "OrderStockReserved":
        case "OrderStockBackordered":
        case "OrderStockReleased":
        case "OrderStockReturned": {
          const order = parseTenantScopedId(event.aggregateId)
          if (order === undefined)
            return yield* Effect.fail(new Error(`order ${event.aggregateId} names no tenant`))
          listingId = tenantScopedId(order.tenantId, event.payload.sku)
          break
        }
        default:
          return []
      }
      const free = yield* (yield* Registers).read(stockReservations, listingId)
      const available = Math.max(0, free.value.available)
      return [
        toListing(listingId, {
          _tag: "UpdateAvailability",
          available,
          reason: available === 0 ? "no unit is free to promise" : "units are free again",
        }),
      ]
    }),
})

/** The resolver's recorded violations of content ops' invariants, answered by marking the listing out of stock. */
export const answerViolations = (options: {
  readonly agent: string
}): ReactorDefinition<ContentOpsDefs, unknown, Registers> => ({
  name: "content-ops-violations",
  consumes: { domain: "registers" },
  eventTypes: ["InvariantViolated"],
  react: (event) =>
    Effect.gen(function* () {
      if (event.type !== "InvariantViolated") return []
      const { resolution, id } = event.payload
      if (resolution._tag !== "Command" || resolution.agent !== options.agent) return []
      if (resolution.command !== "MarkListingOutOfStock") return []
      const free = yield* (yield* Registers).read(stockReservations, id)
      return [
        toListing(id, {
          _tag: "UpdateAvailability",
          available: Math.max(0, free.value.available),
          reason: `${event.payload.invariant}: ${event.payload.message}`,
        }),
      ]
    }),
})

/** The listing of a publish action's id (`publish-<listing>-v<n>`), or null for another action. */
export const listingOfPublishAction = (actionId: string): string | null =>
  /^publish-(.+)-v\d+$/.exec(actionId)?.[1] ?? null

/** What became of a listing's publish action: published, or refused by a person, a lapse or the policy. */
export const recordPublishOutcomes = (options: {
  readonly agent: string
}): ReactorDefinition<ContentOpsDefs, unknown, never> => ({
  name: "content-ops-action-outcomes",
  // Its own agent's actions only: the actions stream holds every agent's, and the others' were
  // delivered here only to be skipped.
  consumes: { domain: "actions", aggregateTypes: [options.agent] },
  eventTypes: ["ActionSucceeded", "ActionRejected", "ActionExpired", "ActionDenied"],
  react: (event) =>
    Effect.sync(() => {
      if (event.aggregateType !== options.agent) return []
      const actionId = event.aggregateId
      const listingId = listingOfPublishAction(actionId)
      if (listingId === null) return []
      switch (event.type) {
        case "ActionSucceeded":
          return [
            toListing(listingId, {
              _tag: "RecordPublished",
              actionId,
              externalRef: event.payload.externalRef,
            }),
          ]
        case "ActionRejected":
          return [
            toListing(listingId, {
              _tag: "RecordPublishRefused",
              actionId,
              reason: `refused by ${event.payload.rejectedBy}: ${event.payload.reason}`,
            }),
          ]
        case "ActionExpired":
          return [
            toListing(listingId, { _tag: "RecordPublishRefused", actionId, reason: "its approval lapsed" }),
          ]
        case "ActionDenied":
          return [
            toListing(listingId, {
              _tag: "RecordPublishRefused",
              actionId,
              reason: `denied by policy: ${event.payload.reason}`,
            }),
          ]
        default:
          return []
      }
    }),
})
