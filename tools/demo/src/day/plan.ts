import { type ShopProduct, shopCatalogue } from "./catalogue.ts"
import { type Language, type MessageKind, type Tone, writeMessage } from "./messages.ts"
import { type Choices, seededChoices } from "./random.ts"

/** How big a day is. */
export interface DaySize {
  /** Tickets opened: customers starting a conversation (follow-ups and redeliveries come on top). */
  readonly tickets: number
  readonly orders: number
  readonly products: number
}

/** The day the README promises: 500 tickets, 200 orders, 50 products. */
export const fullDay: DaySize = { tickets: 500, orders: 200, products: 50 }

/** How long the day's script lasts at `--speed 1`, in milliseconds; events are spread over it. */
export const dayLengthMs = 30_000

/** A line of an order: a SKU and how many. */
export interface PlannedLine {
  readonly sku: string
  readonly quantity: number
}

/** A customer's message as the mail and chat gateway delivers it, with what the workload meant by it. */
export interface PlannedMessage {
  readonly messageId: string
  readonly customerId: string
  readonly customerName: string
  readonly replyTo: string
  readonly channel: "email" | "chat"
  readonly threadId: string
  readonly subject: string
  readonly body: string
  readonly orderId: string | null
  readonly kind: MessageKind
  readonly language: Language
  readonly tone: Tone
  /** The same message delivered again by the gateway (the agent must count it once). */
  readonly redelivery: boolean
}

/** One thing that happens in the shop's day, at `at` milliseconds into it (at speed 1). */
export type DayStep =
  | { readonly _tag: "AddProducts"; readonly at: number; readonly products: ReadonlyArray<ShopProduct> }
  | {
      readonly _tag: "PlaceOrder"
      readonly at: number
      readonly orderId: string
      readonly customerId: string
      readonly email: string
      readonly lines: ReadonlyArray<PlannedLine>
    }
  | { readonly _tag: "PayOrder"; readonly at: number; readonly orderId: string }
  | { readonly _tag: "CancelOrder"; readonly at: number; readonly orderId: string; readonly reason: string }
  /** The warehouse ships the order if procurement holds its stock; else it waits for the next try. */
  | { readonly _tag: "ShipOrder"; readonly at: number; readonly orderId: string }
  | { readonly _tag: "ReturnOrder"; readonly at: number; readonly orderId: string }
  | { readonly _tag: "CustomerMessage"; readonly at: number; readonly message: PlannedMessage }
  /** The goods-in dock receives what suppliers deliver for placed purchase orders. */
  | { readonly _tag: "DockRound"; readonly at: number }
  /** The owner works the approvals queue. */
  | { readonly _tag: "OwnerRound"; readonly at: number }

/** The day: its seed, size, catalogue, and every step in order of time. */
export interface DayPlan {
  readonly seed: number
  readonly size: DaySize
  readonly products: ReadonlyArray<ShopProduct>
  readonly steps: ReadonlyArray<DayStep>
  /** The supplier whose deliveries come late, and the share of deliveries that come in part. */
  readonly deliveries: { readonly lateSupplier: string; readonly partialShare: number }
}

const firstNames = [
  "Ada",
  "Ben",
  "Chloé",
  "Dmitri",
  "Elif",
  "Femi",
  "Greta",
  "Hugo",
  "Ines",
  "Jonas",
  "Kenji",
  "Lena",
  "Mateo",
  "Nora",
  "Oskar",
  "Priya",
  "Quentin",
  "Rosa",
  "Sven",
  "Tara",
  "Umar",
  "Vera",
  "Wim",
  "Yara",
]
const lastNames = [
  "Berg",
  "Costa",
  "Dubois",
  "Evans",
  "Fischer",
  "García",
  "Hansen",
  "Ivanova",
  "Jensen",
  "Kowalski",
]

interface Customer {
  readonly id: string
  readonly name: string
  readonly email: string
  readonly language: Language
}

const customersOf = (c: Choices, count: number): ReadonlyArray<Customer> =>
  Array.from({ length: count }, (_, i) => {
    const name = `${c.pick(firstNames)} ${c.pick(lastNames)}`
    const id = `c-${String(i + 1).padStart(4, "0")}`
    return {
      id,
      name,
      email: `${id}@example.com`,
      language: c.weighted<Language>([
        ["en", 0.7],
        ["de", 0.1],
        ["fr", 0.1],
        ["es", 0.1],
      ]),
    }
  })

interface OrderPlan {
  readonly orderId: string
  readonly customer: Customer
  readonly lines: ReadonlyArray<PlannedLine>
  readonly placedAt: number
  readonly paidAt: number | null
  readonly shipAt: number | null
  readonly returnedAt: number | null
}

const kinds: ReadonlyArray<readonly [MessageKind, number]> = [
  ["order-status", 0.22],
  ["refund-with-return", 0.06],
  ["refund-no-return", 0.03],
  ["product-question", 0.22],
  ["back-in-stock", 0.07],
  ["complaint", 0.1],
  ["manipulation", 0.06],
  ["sensitive", 0.06],
  ["other", 0.14],
]

/**
 * Plans a shop's day from a seed: the catalogue is added at opening; orders are placed through the
 * day, most paid, some cancelled or never paid, shipped once their stock is held, some returned;
 * customers write in about their orders, the products, restocks, refunds, and some try to talk the
 * agent into things; follow-ups join earlier tickets; the gateway delivers some messages twice; the
 * dock receives deliveries and the owner works the approvals queue in rounds. Pure: the same seed
 * and size make the same plan.
 */
export const planDay = (seed: number, size: DaySize): DayPlan => {
  const root = seededChoices(seed)
  const products = shopCatalogue(root.fork("catalogue"), size.products)
  const customers = customersOf(root.fork("customers"), Math.max(10, Math.ceil(size.tickets * 1.2)))
  const steps: Array<DayStep> = [{ _tag: "AddProducts", at: 0, products }]
  const day = dayLengthMs

  // Orders: placed between 5% and 70% of the day.
  const oc = root.fork("orders")
  const orders: Array<OrderPlan> = []
  for (let i = 0; i < size.orders; i++) {
    const customer = oc.pick(customers)
    const lineCount = oc.weighted([
      [1, 0.7],
      [2, 0.22],
      [3, 0.08],
    ])
    const skus = new Set<string>()
    while (skus.size < Math.min(lineCount, products.length)) skus.add(oc.pick(products).sku)
    const lines = [...skus].map((sku) => ({
      sku,
      quantity: oc.weighted([
        [1, 0.8],
        [2, 0.15],
        [3, 0.05],
      ] as const),
    }))
    const placedAt = Math.round(day * (0.05 + 0.65 * (i / Math.max(1, size.orders))) + oc.int(0, 300))
    const fate = oc.weighted<"paid" | "cancelled" | "abandoned">([
      ["paid", 0.9],
      ["cancelled", 0.05],
      ["abandoned", 0.05],
    ])
    const paidAt = fate === "paid" ? placedAt + oc.int(100, 800) : null
    const shipAt = paidAt === null ? null : paidAt + oc.int(2_000, 5_000)
    const returnedAt = shipAt !== null && oc.chance(0.12) ? shipAt + oc.int(1_000, 3_000) : null
    const orderId = String(1001 + i)
    orders.push({ orderId, customer, lines, placedAt, paidAt, shipAt, returnedAt })
    steps.push({
      _tag: "PlaceOrder",
      at: placedAt,
      orderId,
      customerId: customer.id,
      email: customer.email,
      lines,
    })
    if (paidAt !== null) steps.push({ _tag: "PayOrder", at: paidAt, orderId })
    if (fate === "cancelled")
      steps.push({
        _tag: "CancelOrder",
        at: placedAt + oc.int(200, 1_500),
        orderId,
        reason: "customer changed their mind",
      })
    if (shipAt !== null) steps.push({ _tag: "ShipOrder", at: shipAt, orderId })
    if (returnedAt !== null) steps.push({ _tag: "ReturnOrder", at: returnedAt, orderId })
  }

  // Customer messages: tickets opened between 10% and 95% of the day, follow-ups and redeliveries after.
  const mc = root.fork("messages")
  const scarce = products.filter((p) => p.stock.opening <= 2)
  const opened: Array<PlannedMessage & { readonly at: number }> = []
  // Most customers write once; some write about two orders, or again later: contacts are counted.
  const contacts = new Map<string, number>()
  const quiet = <A>(items: ReadonlyArray<A>, customerOf: (a: A) => Customer): ReadonlyArray<A> => {
    const fresh = items.filter((a) => (contacts.get(customerOf(a).id) ?? 0) === 0)
    return fresh.length > 0 && !mc.chance(0.1) ? fresh : items
  }
  const refundAsked = new Set<string>()
  for (let i = 0; i < size.tickets; i++) {
    const at = Math.round(day * (0.1 + 0.85 * (i / Math.max(1, size.tickets))) + mc.int(0, 200))
    let kind = mc.weighted(kinds)
    // Customers ask about an order some seconds after placing it, when the shop has heard of it.
    const placed = orders.filter((o) => o.placedAt < at - 4_000)
    // A refund for a return is asked once per returned order.
    const returned = orders.filter(
      (o) => o.returnedAt !== null && o.returnedAt < at && !refundAsked.has(o.orderId),
    )
    if (kind === "refund-with-return" && returned.length === 0) kind = "order-status"
    const aboutOrder = ["order-status", "refund-no-return", "complaint"].includes(kind)
    if (aboutOrder && placed.length === 0) kind = "product-question"
    if (kind === "back-in-stock" && scarce.length === 0) kind = "product-question"
    const order =
      kind === "refund-with-return"
        ? mc.pick(returned)
        : ["order-status", "refund-no-return", "complaint"].includes(kind)
          ? mc.pick(quiet(placed, (o) => o.customer))
          : kind === "manipulation" && placed.length > 0 && mc.chance(0.5)
            ? mc.pick(placed)
            : undefined
    if (kind === "refund-with-return" && order !== undefined) refundAsked.add(order.orderId)
    const customer = order?.customer ?? mc.pick(quiet(customers, (c) => c))
    contacts.set(customer.id, (contacts.get(customer.id) ?? 0) + 1)
    const product =
      kind === "back-in-stock"
        ? mc.pick(scarce)
        : order !== undefined
          ? products.find((p) => p.sku === order.lines[0]?.sku)
          : // A few products draw most questions, so the same question keeps coming back.
            mc.chance(0.6)
            ? mc.pick(products.slice(0, 4))
            : mc.pick(products)
    const tone = mc.weighted<Tone>(
      kind === "complaint"
        ? [
            ["angry", 0.6],
            ["neutral", 0.4],
          ]
        : [
            ["polite", 0.35],
            ["neutral", 0.5],
            ["angry", 0.15],
          ],
    )
    const text = writeMessage(
      kind,
      customer.language,
      tone,
      {
        ...(order === undefined ? {} : { orderId: order.orderId }),
        ...(product === undefined ? {} : { product }),
        name: customer.name.split(" ")[0] ?? customer.name,
      },
      mc,
    )
    const message: PlannedMessage & { readonly at: number } = {
      at,
      messageId: `msg-${seed}-${i + 1}`,
      customerId: customer.id,
      customerName: customer.name,
      replyTo: customer.email,
      channel: mc.chance(0.7) ? "email" : "chat",
      threadId: `thread-${seed}-${i + 1}`,
      subject: text.subject,
      body: text.body,
      orderId: order?.orderId ?? null,
      kind,
      language: text.language,
      tone,
      redelivery: false,
    }
    opened.push(message)
  }
  const messages: Array<PlannedMessage & { readonly at: number }> = [...opened]
  for (const [i, first] of opened.entries()) {
    // One in ten conversations gets a follow-up, more of them from angry customers.
    if (mc.chance(first.tone === "angry" ? 0.25 : 0.08)) {
      const text = writeMessage("follow-up", first.language, first.tone, { name: first.customerName }, mc)
      messages.push({
        ...first,
        at: first.at + mc.int(1_500, 4_000),
        messageId: `msg-${seed}-${i + 1}-followup`,
        subject: `Re: ${first.subject}`,
        body: text.body,
        kind: "follow-up",
      })
    }
    // The gateway delivers one message in thirty twice.
    if (mc.chance(1 / 30)) messages.push({ ...first, at: first.at + mc.int(50, 1_000), redelivery: true })
  }
  for (const { at, ...message } of messages) steps.push({ _tag: "CustomerMessage", at, message })

  // The dock every two seconds, the owner every second and a half (both go on after the script
  // while the mesh finishes the day's work).
  for (let at = 1_000; at <= day; at += 2_000) steps.push({ _tag: "DockRound", at })
  for (let at = 1_500; at <= day; at += 1_500) steps.push({ _tag: "OwnerRound", at })

  const order = (s: DayStep) => (s._tag === "AddProducts" ? 0 : 1)
  steps.sort((a, b) => a.at - b.at || order(a) - order(b))
  return {
    seed,
    size,
    products,
    steps,
    deliveries: { lateSupplier: "quickship", partialShare: 0.25 },
  }
}
