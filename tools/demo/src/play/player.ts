import { parseTenantScopedId } from "@mesh/contracts"
import { type Dispatcher, request } from "undici"
import type { ShopProduct } from "../day/catalogue.ts"
import { type DayPlan, type DayStep, dayLengthMs, type PlannedLine } from "../day/plan.ts"
import { seededChoices } from "../day/random.ts"
import type { MeshAgent } from "../stack/agentProcess.ts"
import type { MeshStack } from "../stack/meshStack.ts"
import type { LogWatch } from "./logWatch.ts"

/** What the shop's world did during the day, as the player counts it (the mesh's side is in the log). */
export interface WorldTally {
  ordersPlaced: number
  ordersPaid: number
  ordersCancelled: number
  ordersShipped: number
  ordersReturned: number
  /** Paid orders the warehouse never shipped: their stock was never held for them. */
  ordersWaitingForStock: number
  messagesSent: number
  redeliveries: number
  /** Messages the intake refused, by status and reason. */
  messagesRefused: Array<string>
  deliveriesReceived: number
  deliveriesPartial: number
  approvalsGiven: number
  /** Product questions no record answered, which the owner answered herself. */
  questionsAnsweredByOwner: number
  approvalsRejected: number
  /** Why the owner rejected what she did. */
  rejections: Array<string>
  faultsInjected: number
  /** Calls to the mesh that failed after retries, with what they said. */
  errors: Array<string>
}

/** Refunds from this amount (minor units) the owner checks against the parcel herself the next morning. */
const ownerChecksRefundsFrom = 20_000

/** What the owner writes to a product question: the product's facts, as she knows them. */
const productAnswer = (product: ShopProduct): string =>
  [
    "Hello,",
    `thank you for asking about the ${product.name.toLowerCase()}. ${product.attributes.map((a) => `Its ${a.name} is ${a.value}`).join(", ")}.`,
    product.highlights.length > 0 ? `${product.highlights.join(". ")}.` : "",
    "Best wishes from the shop",
  ]
    .filter((line) => line !== "")
    .join("\n")

/** A short pause, as timers go. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** Runs at most `limit` tasks at once; the rest queue in order. */
const limiter = (limit: number) => {
  let active = 0
  const queue: Array<() => void> = []
  return async <A>(task: () => Promise<A>): Promise<A> => {
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve))
    active += 1
    try {
      return await task()
    } finally {
      active -= 1
      queue.shift()?.()
    }
  }
}

/**
 * Plays a planned day against the running mesh: the storefront's shoppers, the mail gateway's
 * customers, the warehouse, the goods-in dock and the owner, each through the interface a real one
 * uses (the storefront simulator's admin routes, the agents' HTTP APIs with the gateway's and the
 * owner's tokens). Steps run at their time (`at / speed`), up to 12 at once; an order's steps and a
 * conversation's messages keep their order. The simulators' faults are switched on at the rates
 * `switchOnFaults` documents. Resolves when the last step has run, with the world's tally and
 * `close`: until it is called the owner and the dock keep their rounds while the mesh finishes.
 */
export const playDay = async (options: {
  readonly plan: DayPlan
  readonly stack: MeshStack
  readonly watch: LogWatch
  readonly speed: number
  readonly faults: boolean
}): Promise<{ readonly tally: WorldTally; readonly close: () => Promise<WorldTally> }> => {
  const { plan, stack, watch, speed } = options
  const tally: WorldTally = {
    ordersPlaced: 0,
    ordersPaid: 0,
    ordersCancelled: 0,
    ordersShipped: 0,
    ordersReturned: 0,
    ordersWaitingForStock: 0,
    messagesSent: 0,
    redeliveries: 0,
    messagesRefused: [],
    deliveriesReceived: 0,
    deliveriesPartial: 0,
    approvalsGiven: 0,
    questionsAnsweredByOwner: 0,
    approvalsRejected: 0,
    rejections: [],
    faultsInjected: 0,
    errors: [],
  }
  const run = limiter(12)
  const owner = { authorization: `Bearer ${stack.shop.owner.token}` }

  /** A call that an agent restarting (or a simulated fault) may refuse for a moment: retried for up to 30 s. */
  const call = async (
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<{ status: number; body: unknown }> => {
    const deadline = Date.now() + 30_000
    for (let attempt = 0; ; attempt++) {
      try {
        // undici's request API, as the agents' connectors call the simulators: fetch's WHATWG
        // layers cost this process (which also plays the storefront, the gateway and the
        // simulators, on the mesh's two cores) several times the CPU per call.
        const response = await request(url, {
          method: (init.method ?? "GET") as Dispatcher.HttpMethod,
          headers: {
            ...(init.body === undefined ? {} : { "content-type": "application/json" }),
            ...init.headers,
          },
          ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
          signal: AbortSignal.timeout(10_000),
        })
        const text = await response.body.text()
        const body = text === "" ? null : (JSON.parse(text) as unknown)
        if (response.statusCode < 500 || Date.now() > deadline) return { status: response.statusCode, body }
      } catch (error) {
        if (Date.now() > deadline) throw error
      }
      await sleep(Math.min(2_000, 100 * 2 ** attempt))
    }
  }
  const failed = (what: string, result: { status: number; body: unknown }) => {
    tally.errors.push(`${what}: ${result.status} ${JSON.stringify(result.body).slice(0, 200)}`)
  }

  const storefront = stack.simulators.storefront.url
  const admin = (path: string, body: unknown = {}) => call(`${storefront}${path}`, { method: "POST", body })

  // Orders: which lines procurement holds stock for, from its events.
  const linesOf = new Map<string, ReadonlyArray<PlannedLine>>()
  const held = new Map<string, Map<string, number>>()
  watch.onEvent(({ event }) => {
    if (event.type !== "OrderStockReserved" && event.type !== "OrderStockReleased") return
    const order = parseTenantScopedId(event.aggregateId)?.ownId
    if (order === undefined) return
    const { sku, quantity } = event.payload as { sku: string; quantity: number }
    const lines = held.get(order) ?? new Map<string, number>()
    lines.set(sku, (lines.get(sku) ?? 0) + (event.type === "OrderStockReserved" ? quantity : -quantity))
    held.set(order, lines)
  })
  const fullyHeld = (orderId: string) =>
    (linesOf.get(orderId) ?? []).every((line) => (held.get(orderId)?.get(line.sku) ?? 0) >= line.quantity)
  const toShip = new Set<string>()
  const shipped = new Set<string>()
  // An order's parcel leaving and coming back, for the steps that wait on them (outside the limiter).
  const milestone = () => {
    const waiting = new Map<string, Array<() => void>>()
    const reached = new Set<string>()
    return {
      reach: (orderId: string) => {
        reached.add(orderId)
        for (const resolve of waiting.get(orderId) ?? []) resolve()
        waiting.delete(orderId)
      },
      /** Resolves true once the order reaches it, false after `ms`. */
      wait: (orderId: string, ms: number): Promise<boolean> =>
        reached.has(orderId)
          ? Promise.resolve(true)
          : new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), ms)
              waiting.set(orderId, [
                ...(waiting.get(orderId) ?? []),
                () => {
                  clearTimeout(timer)
                  resolve(true)
                },
              ])
            }),
    }
  }
  const parcelLeft = milestone()
  const parcelBack = milestone()

  // What the storefront has done to each order (placed, paid, shipped, ...), and how much of it the
  // shop's log holds. A customer writes about an order from what the storefront has told them: a
  // message about an order waits until the shop has heard of it all too, so that which of the
  // order's changes came before the message does not turn on how fast the storefront's webhooks ran.
  const toldByStorefront = new Map<string, number>()
  const heardByShop = new Map<string, number>()
  const hearing: Array<{
    readonly orderId: string
    readonly done: () => boolean
    readonly resolve: () => void
  }> = []
  watch.onEvent(({ event }) => {
    if (event.type !== "OrderPlaced" && event.type !== "OrderStatusChanged") return
    const order = parseTenantScopedId(event.aggregateId)?.ownId
    if (order === undefined) return
    heardByShop.set(order, (heardByShop.get(order) ?? 0) + 1)
    for (const waiter of hearing.filter((w) => w.orderId === order && w.done())) {
      hearing.splice(hearing.indexOf(waiter), 1)
      waiter.resolve()
    }
  })
  const storefrontChanged = (orderId: string) =>
    toldByStorefront.set(orderId, (toldByStorefront.get(orderId) ?? 0) + 1)
  /** Resolves true once the shop's log holds every change the storefront has made to the order so far, false after `ms`. */
  const shopHasHeard = (orderId: string, ms: number): Promise<boolean> => {
    const told = toldByStorefront.get(orderId) ?? 0
    const done = () => (heardByShop.get(orderId) ?? 0) >= told
    if (done()) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const waiter = { orderId, done, resolve: () => resolve(true) }
      hearing.push(waiter)
      setTimeout(() => {
        const at = hearing.indexOf(waiter)
        if (at < 0) return
        hearing.splice(at, 1)
        resolve(false)
      }, ms)
    })
  }
  // A customer whose parcel is late to leave or to come back waits up to a fifth of the day for it.
  const patienceMs = dayLengthMs / 5 / speed
  // How long the warehouse waits for procurement to reserve an order's stock before leaving it to
  // the dock, and a customer for the shop to hear of their order's changes (a webhook the
  // storefront's faults dropped comes with its next poll), whatever the speed: both are the mesh's
  // time, not the script's.
  const reservationPatienceMs = 3_000
  const hearingPatienceMs = 10_000
  const historyPatienceMs = 2_000

  const ship = async (orderId: string) => {
    const result = await admin(`/_admin/orders/${orderId}/ship`, {
      carrier: "DHL",
      trackingNumber: `JD${orderId}`,
    })
    if (result.status >= 300) return failed(`ship order ${orderId}`, result)
    storefrontChanged(orderId)
    shipped.add(orderId)
    parcelLeft.reach(orderId)
    tally.ordersShipped += 1
    const delivered = await admin(`/_admin/orders/${orderId}/deliver`)
    if (delivered.status >= 300) failed(`deliver order ${orderId}`, delivered)
    else storefrontChanged(orderId)
  }

  // The dock: deliveries for placed purchase orders, in part at times; the late supplier's only at the end.
  const dockChoices = seededChoices(plan.seed).fork("dock")
  const partial = new Map<string, boolean>()
  const dockRound = async (at: number) => {
    for (const orderId of [...toShip]) {
      if (!fullyHeld(orderId)) continue
      toShip.delete(orderId)
      await ship(orderId)
    }
    const result = await call(`${stack.urlOf("procurement")}/purchase-orders`, { headers: owner })
    if (result.status !== 200) return failed("list purchase orders", result)
    const orders = (result.body as { purchaseOrders: ReadonlyArray<Record<string, unknown>> }).purchaseOrders
    const lateOnesArrive = at >= 0.9 * dayLengthMs
    for (const po of orders) {
      const id = String(po.purchaseOrderId)
      const outstanding = Number(po.quantity) - Number(po.received ?? 0)
      if (po.externalRef === null || outstanding <= 0 || String(po.status).includes("cancel")) continue
      if (po.supplierId === plan.deliveries.lateSupplier && !lateOnesArrive) continue
      if (!partial.has(id)) partial.set(id, dockChoices.chance(plan.deliveries.partialShare))
      const inPart = partial.get(id) === true && Number(po.received ?? 0) === 0 && outstanding > 1
      const quantity = inPart ? Math.floor(outstanding / 2) : outstanding
      const receipt = await call(`${stack.urlOf("procurement")}/purchase-orders/${id}/receipts`, {
        method: "POST",
        headers: owner,
        body: { quantity, deliveryId: `dn-${id}-${Number(po.received ?? 0)}` },
      })
      if (receipt.status >= 300) failed(`receive ${id}`, receipt)
      else if (inPart) tally.deliveriesPartial += 1
      else tally.deliveriesReceived += 1
    }
  }

  // The owner: approves purchase orders, listings and articles; a refund only for an order that came back.
  const ownerRound = async () => {
    await answerQuestions()
    for (const agent of ["customer-ops", "procurement", "content-ops"] as const) {
      const queue = await call(`${stack.urlOf(agent)}/approvals?agent=${agent}`, { headers: owner })
      if (queue.status !== 200) {
        failed(`${agent} approvals`, queue)
        continue
      }
      // She works through the queue a few at a time (a page of them open at once), not one by one:
      // each answer is its own request, and the agent's round trip, not her reading, is the wait.
      const waiting = (queue.body as { queue: ReadonlyArray<Record<string, unknown>> }).queue.filter(
        (entry) => entry.status === "awaiting-approval",
      )
      await Promise.all(waiting.map((entry) => answering(() => answer(agent, entry))))
    }
  }
  const answering = limiter(4)
  /** Her answer to one waiting action. */
  const answer = async (agent: MeshAgent, entry: Record<string, unknown>): Promise<void> => {
    let verdict: { approve: true } | { approve: false; reason: string } = { approve: true }
    const replyTo = /^reply-(tk-[0-9a-f]+)-m\d+$/.exec(String(entry.actionId))?.[1]
    if (replyTo !== undefined && answeredByOwner.has(replyTo))
      verdict = { approve: false, reason: "the owner answered this customer herself" }
    if (entry.kind === "payment.refund") {
      const parameters = entry.parameters as { orderId?: string; amountMinor?: number }
      // A large refund she checks against the parcel herself tomorrow morning: it waits.
      if (Number(parameters.amountMinor ?? 0) >= ownerChecksRefundsFrom) return
      const orderId = parseTenantScopedId(String(parameters.orderId))?.ownId ?? String(parameters.orderId)
      const order = await call(`${storefront}/v1/orders/${orderId}`)
      const status = (order.body as { status?: string } | null)?.status
      verdict =
        status === "returned" || status === "cancelled"
          ? { approve: true }
          : {
              approve: false,
              reason: `no return received for order ${orderId} (it is ${status ?? "unknown"})`,
            }
    }
    const path = `${stack.urlOf(agent)}/approvals/${String(entry.agent)}/${String(entry.actionId)}`
    const response = verdict.approve
      ? await call(`${path}/approve`, {
          method: "POST",
          headers: owner,
          body: { parametersHash: entry.parametersHash },
        })
      : await call(`${path}/reject`, { method: "POST", headers: owner, body: { reason: verdict.reason } })
    // An answer whose response was lost to a restarting agent is sent again, and found decided.
    const decidedBefore =
      response.status === 409 && (response.body as { refusal?: string } | null)?.refusal === "already-decided"
    if (decidedBefore) return
    if (response.status >= 300) failed(`answer ${String(entry.actionId)}`, response)
    else if (verdict.approve) tally.approvalsGiven += 1
    else {
      tally.approvalsRejected += 1
      tally.rejections.push(verdict.reason)
    }
  }

  // The owner's support work: product questions no record answers, answered from the product's facts.
  const answeredByOwner = new Set<string>()
  const answerQuestions = async () => {
    const waiting = await call(`${stack.urlOf("customer-ops")}/tickets?awaiting=human&limit=1000`, {
      headers: owner,
    })
    if (waiting.status !== 200) return failed("tickets awaiting a person", waiting)
    const tickets = (waiting.body as { tickets: ReadonlyArray<Record<string, unknown>> }).tickets
    for (const ticket of tickets) {
      const id = String(ticket.ticketId)
      const codes = (ticket.escalationCodes as ReadonlyArray<string> | undefined) ?? []
      if (answeredByOwner.has(id) || ticket.intent !== "product_question" || !codes.includes("no-facts"))
        continue
      const subject = String(ticket.subject).toLowerCase()
      const product = plan.products.find((p) => subject.includes(p.name.toLowerCase()))
      if (product === undefined) continue
      answeredByOwner.add(id)
      const answer = await call(`${stack.urlOf("customer-ops")}/tickets/${id}/answer`, {
        method: "POST",
        headers: owner,
        body: { body: productAnswer(product) },
      })
      if (answer.status >= 300) failed(`answer ticket ${id}`, answer)
      else tally.questionsAnsweredByOwner += 1
    }
  }

  const addProducts = async (step: Extract<DayStep, { _tag: "AddProducts" }>) => {
    const catalogue = await admin("/_admin/catalogue", {
      products: step.products.map((p) => ({
        sku: p.sku,
        name: p.name,
        category: p.category,
        attributes: p.attributes,
        highlights: p.highlights,
        priceMinor: p.priceMinor,
        currency: "EUR",
      })),
    })
    if (catalogue.status >= 300) failed("catalogue", catalogue)
    await Promise.all(
      step.products.map((p) =>
        run(async () => {
          const stock = await call(`${stack.urlOf("procurement")}/stock-items/${p.sku}`, {
            method: "PUT",
            headers: owner,
            body: {
              tenantId: stack.shop.tenant,
              name: p.name,
              reorderPoint: p.stock.reorderPoint,
              reorderQuantity: p.stock.reorderQuantity,
              neededWithinDays: p.stock.neededWithinDays,
              suppliers: p.stock.suppliers,
              openingStock: p.stock.opening,
            },
          })
          if (stock.status >= 300) failed(`stock ${p.sku}`, stock)
          const facts = await call(`${stack.urlOf("content-ops")}/products/${p.sku}`, {
            method: "PUT",
            headers: owner,
            body: {
              tenantId: stack.shop.tenant,
              productName: p.name,
              category: p.category,
              attributes: p.attributes,
              highlights: p.highlights,
              price: { amountMinor: p.priceMinor, currency: "EUR" },
            },
          })
          if (facts.status >= 300) failed(`facts ${p.sku}`, facts)
        }),
      ),
    )
  }

  const perKey = new Map<string, Promise<void>>()
  // Each customer's orders, in the script's order, and each order's placing on the storefront.
  const ordersOfCustomer = new Map<string, Array<string>>()
  const placing = new Map<string, Promise<void>>()
  // Each customer's latest message, sent or still waiting to be (outside the limiter).
  const customers = new Map<string, Promise<void>>()
  /**
   * Runs `task` after the earlier tasks of the same key (an order, a conversation), in the order
   * they were asked for; `ready`, when given, is waited for first, in that place but without taking
   * one of the limiter's places (what it waits for may need them).
   */
  const inOrder = (key: string, task: () => Promise<void>, ready?: () => Promise<unknown>): Promise<void> => {
    const next = (perKey.get(key) ?? Promise.resolve())
      .then(ready)
      .then(() => run(task))
      .catch((error: unknown) => {
        tally.errors.push(`${key}: ${String(error)}`)
      })
    perKey.set(key, next)
    return next
  }

  const perform = (step: DayStep): Promise<void> => {
    switch (step._tag) {
      case "AddProducts":
        return addProducts(step)
      case "PlaceOrder": {
        linesOf.set(step.orderId, step.lines)
        ordersOfCustomer.set(step.customerId, [
          ...(ordersOfCustomer.get(step.customerId) ?? []),
          step.orderId,
        ])
        const placed = inOrder(`order ${step.orderId}`, async () => {
          const result = await admin("/_admin/orders", {
            orderId: step.orderId,
            customerId: step.customerId,
            email: step.email,
            lines: step.lines,
          })
          if (result.status >= 300) failed(`place ${step.orderId}`, result)
          else {
            storefrontChanged(step.orderId)
            tally.ordersPlaced += 1
          }
        })
        placing.set(step.orderId, placed)
        return placed
      }
      case "PayOrder":
        return inOrder(`order ${step.orderId}`, async () => {
          const result = await admin(`/_admin/orders/${step.orderId}/pay`)
          if (result.status >= 300) failed(`pay ${step.orderId}`, result)
          else {
            storefrontChanged(step.orderId)
            tally.ordersPaid += 1
          }
        })
      case "CancelOrder":
        return inOrder(`order ${step.orderId}`, async () => {
          const result = await admin(`/_admin/orders/${step.orderId}/cancel`, { reason: step.reason })
          if (result.status >= 300) failed(`cancel ${step.orderId}`, result)
          else {
            storefrontChanged(step.orderId)
            tally.ordersCancelled += 1
          }
        })
      case "ShipOrder":
        // The warehouse ships what procurement holds stock for. A reservation a moment late (the mesh
        // busy) is waited for, so that the parcel leaves at its time in the script, not whenever
        // the dock next comes round; an order waiting for new stock goes with the dock.
        return inOrder(
          `order ${step.orderId}`,
          async () => {
            if (fullyHeld(step.orderId)) await ship(step.orderId)
            else toShip.add(step.orderId)
          },
          async () => {
            const deadline = Date.now() + reservationPatienceMs
            while (!fullyHeld(step.orderId) && Date.now() < deadline) await sleep(50)
          },
        )
      case "ReturnOrder":
        // The customer sends the parcel back once it has come; one that never left cannot come back.
        return parcelLeft.wait(step.orderId, patienceMs).then((arrived) =>
          arrived
            ? inOrder(`order ${step.orderId}`, async () => {
                const result = await admin(`/_admin/orders/${step.orderId}/return`)
                if (result.status >= 300) failed(`return ${step.orderId}`, result)
                else {
                  storefrontChanged(step.orderId)
                  tally.ordersReturned += 1
                  parcelBack.reach(step.orderId)
                }
              })
            : undefined,
        )
      case "CustomerMessage": {
        const { message } = step
        const send = async () => {
          const result = await call(`${stack.urlOf("customer-ops")}/messages`, {
            method: "POST",
            headers: { authorization: `Bearer ${stack.shop.gatewayToken}` },
            body: {
              messageId: message.messageId,
              customerId: message.customerId,
              customerName: message.customerName,
              replyTo: message.replyTo,
              threadId: message.threadId,
              channel: message.channel,
              subject: message.subject,
              body: message.body,
              ...(message.orderId === null ? {} : { orderId: message.orderId }),
            },
          })
          if (result.status >= 300)
            tally.messagesRefused.push(`${result.status} ${JSON.stringify(result.body).slice(0, 160)}`)
          else if (message.redelivery) tally.redeliveries += 1
          else tally.messagesSent += 1
        }
        // A customer's messages, in all their conversations, are sent in the script's order, each
        // after the one before it however long that one waited. A customer asks for the refund of a
        // return after posting the parcel. A message about an order takes its place among the
        // order's own steps (paid, shipped, returned, as the script has them before or after it),
        // and goes once the shop has heard of those before it: what the message finds of its order
        // does not turn on how busy the day is. A message about no order in particular goes once
        // the customer's orders are placed and the shop has heard what the storefront did to them
        // so far (with less patience: it does not hang on a dropped webhook), so that the history
        // it is answered with (the customer's orders, their value) is the script's, not a race's.
        const { orderId } = message
        const placed = [...(ordersOfCustomer.get(message.customerId) ?? [])]
        const historyHeard = () =>
          Promise.all(placed.map((o) => placing.get(o))).then(() =>
            Promise.all(placed.map((o) => shopHasHeard(o, historyPatienceMs))),
          )
        const sent = (customers.get(message.customerId) ?? Promise.resolve())
          .then(() =>
            message.kind === "refund-with-return" && orderId !== null
              ? parcelBack.wait(orderId, patienceMs)
              : true,
          )
          .then(() =>
            orderId === null
              ? inOrder(`conversation ${message.threadId}`, send, historyHeard)
              : inOrder(`order ${orderId}`, send, () => shopHasHeard(orderId, hearingPatienceMs)),
          )
        customers.set(message.customerId, sent)
        return sent
      }
      case "DockRound":
        return inOrder("dock", () => dockRound(step.at))
      case "OwnerRound":
        return inOrder("owner", ownerRound)
    }
  }

  if (options.faults) tally.faultsInjected += await switchOnFaults(stack, plan.seed)
  const faultTicker = options.faults ? faultsThroughTheDay(stack, plan.seed, speed, tally) : undefined
  const started = Date.now()
  const inFlight: Array<Promise<void>> = []
  for (const step of plan.steps) {
    await sleep(started + step.at / speed - Date.now())
    inFlight.push(perform(step))
  }
  await Promise.all(inFlight)
  faultTicker?.stop()
  // After the script: the shop stays open while the mesh finishes the day's work. The owner and
  // the dock keep their rounds (the late supplier's goods come now), until the day is called.
  // Each keeps its own round: goods arriving do not wait for her to finish the approvals queue.
  let open = true
  const rounds = async (round: () => Promise<void>) => {
    while (open) {
      await round()
      await sleep(1_500 / speed)
    }
  }
  const afterHours = Promise.all([
    rounds(() => inOrder("dock", () => dockRound(Number.MAX_SAFE_INTEGER))),
    rounds(() => inOrder("owner", ownerRound)),
  ])
  return {
    tally,
    close: async () => {
      open = false
      await afterHours
      tally.ordersWaitingForStock = toShip.size
      return tally
    },
  }
}

/**
 * The outside world's bad day, switched on at the start: the storefront sends one webhook in five
 * twice and one in twenty never (the agent's reconciliation finds those), each up to 200 ms late;
 * the payment provider, the supplier and the mailbox answer every call 5-25 ms late.
 */
export const switchOnFaults = async (stack: MeshStack, seed: number): Promise<number> => {
  await fetch(`${stack.simulators.storefront.url}/_admin/webhook-faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ duplicateRate: 0.2, dropRate: 0.05, maxDelayMs: 200, seed }),
  })
  for (const [i, system] of [
    stack.simulators.payment,
    stack.simulators.supplier,
    stack.simulators.mailbox,
  ].entries())
    system.injectFaults({ delayMs: 5 + 10 * i })
  return 1
}

/**
 * One failed call every two seconds of the day (at `--speed 1`), to the payment provider, the
 * supplier or the mailbox in turn: half fail before applying anything (a 503), half after applying
 * it with the answer lost, which the agents' idempotency keys must make harmless.
 */
const faultsThroughTheDay = (stack: MeshStack, seed: number, speed: number, tally: WorldTally) => {
  const choices = seededChoices(seed).fork("faults")
  const systems = [stack.simulators.payment, stack.simulators.supplier, stack.simulators.mailbox]
  const timer = setInterval(
    () => {
      const system = choices.pick(systems)
      system.injectFaults({ failNext: 1, when: choices.chance(0.5) ? "before" : "after", delayMs: 10 })
      tally.faultsInjected += 1
    },
    Math.max(100, 2_000 / speed),
  )
  return { stop: () => clearInterval(timer) }
}
