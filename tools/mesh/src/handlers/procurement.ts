import { readFileSync } from "node:fs"
import { formatMoney, moneyFromDecimal } from "@mesh/contracts"
import { Console, Effect, Option, Schema } from "effect"
import { describeCause, meshError } from "../errors.ts"
import { type AgentAnswer, agentClient, approverToken, expectStatus, type Problem } from "./agentHttp.ts"
import { table } from "./table.ts"

// `mesh stock` and `mesh purchase-orders` read what buyers and the warehouse read: the agent's read
// model, with stock levels it reads live from the registers. Every route wants a person's
// approver token; `--json` prints the agent's own JSON, each answer checked against these schemas.

const api = { agent: "procurement", urlVariable: "MESH_PROCUREMENT_URL" } as const
const AGENT = api.agent

/** An amount in minor units, as the agent's views carry it. */
const Money = Schema.Struct({ amountMinor: Schema.Number, currency: Schema.String })

/** A stock item as `GET /stock-items` lists it. */
const StockItemView = Schema.Struct({
  sku: Schema.String,
  tenantId: Schema.String,
  name: Schema.String,
  reorderPoint: Schema.Number,
  reorderQuantity: Schema.Number,
  neededWithinDays: Schema.Number,
  suppliers: Schema.Array(
    Schema.Struct({
      supplierId: Schema.String,
      name: Schema.String,
      unitCost: Money,
      leadTimeDays: Schema.Number,
      minOrderQuantity: Schema.Number,
    }),
  ),
  openPurchaseOrder: Schema.NullOr(Schema.String),
  belowReorderPointAt: Schema.NullOr(Schema.String),
  stock: Schema.Struct({
    onHand: Schema.Number,
    available: Schema.Number,
    held: Schema.Number,
    confirmed: Schema.Number,
  }),
})
type StockItemView = typeof StockItemView.Type

/** A purchase order as `GET /purchase-orders` lists it. */
const PurchaseOrderView = Schema.Struct({
  purchaseOrderId: Schema.String,
  tenantId: Schema.String,
  sku: Schema.String,
  supplierId: Schema.NullOr(Schema.String),
  quantity: Schema.Number,
  unitCost: Schema.NullOr(Money),
  total: Schema.NullOr(Money),
  status: Schema.String,
  decisionId: Schema.String,
  reason: Schema.String,
  firstTimeSupplier: Schema.Boolean,
  actionId: Schema.NullOr(Schema.String),
  externalRef: Schema.NullOr(Schema.String),
  expectedBy: Schema.NullOr(Schema.String),
  received: Schema.Number,
  late: Schema.Boolean,
  cancelReason: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  updatedAt: Schema.String,
})
type PurchaseOrderView = typeof PurchaseOrderView.Type

/** `PUT /stock-items/:sku`: 202 when the settings changed the item, 200 when they were taken before. */
const Configured = Schema.Struct({ sku: Schema.String, changed: Schema.Boolean })
/** `POST /purchase-orders`: 202 for a new order, 200 for a reference taken before. */
const Placed = Schema.Struct({ purchaseOrderId: Schema.String })
/** `POST /purchase-orders/:id/receipts`, 202. */
const Received = Schema.Struct({ purchaseOrderId: Schema.String, received: Schema.Number })

/** The agent's own JSON of an answer already decoded: `--json` prints it as the agent wrote it. */
const rawBody = (answer: AgentAnswer): unknown => JSON.parse(answer.text)

/** The line for a refusal: the agent's reason, the field it names, and what would get past a 401. */
const refusal =
  (what: string, url: string) =>
  (p: Problem, status: number): string => {
    if (status === 404) return `${p.error} at ${AGENT} ${url}`
    const hint =
      status === 401 && approverToken() === undefined
        ? "; set MESH_APPROVER_TOKEN"
        : // A SKU several tenants sell: the CLI names the tenant with --tenant.
          status === 409 && p.field === "tenantId"
          ? "; name the tenant with --tenant"
          : ""
    return `${AGENT} refused ${what}${p.field === undefined ? "" : ` (field ${p.field})`}: ${p.error}${hint}`
  }

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

/** A labelled line of a `show`, its values lined up. */
const field = (label: string, value: string) => `  ${label.padEnd(14)}${value}`

const stockItemText = (item: StockItemView): string =>
  [
    `stock item ${item.sku} (${item.name}) of ${item.tenantId}`,
    field(
      "stock",
      `on hand ${item.stock.onHand}, available ${item.stock.available}, held ${item.stock.held}, confirmed ${item.stock.confirmed}`,
    ),
    field(
      "reorder point",
      `${item.reorderPoint}${item.belowReorderPointAt === null ? "" : `, below it since ${item.belowReorderPointAt}`}`,
    ),
    field("reorder", `${item.reorderQuantity} more, needed within ${plural(item.neededWithinDays, "day")}`),
    field("open order", item.openPurchaseOrder ?? "none"),
    field("suppliers", String(item.suppliers.length)),
    ...table(
      ["SUPPLIER", "NAME", "UNIT COST", "LEAD TIME DAYS", "MIN ORDER"],
      item.suppliers.map((s) => [
        s.supplierId,
        s.name,
        formatMoney(s.unitCost),
        s.leadTimeDays,
        s.minOrderQuantity,
      ]),
    ).map((line) => `    ${line}`),
  ].join("\n")

const purchaseOrderText = (o: PurchaseOrderView): string => {
  const lines = [
    `purchase order ${o.purchaseOrderId} ${o.status}, ${o.sku} of ${o.tenantId}`,
    field(
      "supplier",
      o.supplierId === null
        ? "none chosen: a buyer places it"
        : `${o.supplierId}${o.firstTimeSupplier ? " (its first order with the shop)" : ""}`,
    ),
    field(
      "quantity",
      `${o.quantity}, received ${o.received}, outstanding ${Math.max(0, o.quantity - o.received)}`,
    ),
  ]
  if (o.unitCost !== null)
    lines.push(
      field(
        "cost",
        `${formatMoney(o.unitCost)} a unit${o.total === null ? "" : `, ${formatMoney(o.total)} in all`}`,
      ),
    )
  lines.push(
    field("expected by", o.expectedBy ?? "-"),
    field("late", o.late ? "yes" : "no"),
    field("decision", `${o.decisionId}: ${o.reason}`),
    field("action", o.actionId ?? "none yet"),
  )
  if (o.externalRef !== null) lines.push(field("supplier ref", o.externalRef))
  if (o.cancelReason !== null) lines.push(field("cancelled", o.cancelReason))
  lines.push(field("created", `${o.createdAt}, updated ${o.updatedAt}`))
  return lines.join("\n")
}

// `?tenantId=` for a tenant named with --tenant: a SKU two shops sell names no one stock item without it.
const tenantQuery = (tenant: Option.Option<string>): string =>
  Option.isSome(tenant) ? `?${new URLSearchParams({ tenantId: tenant.value })}` : ""

/** `mesh stock`: every stock item with its live levels, by tenant and SKU. */
export const listStock = (args: {
  readonly json: boolean
  readonly tenant: Option.Option<string>
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const agent = yield* agentClient(api, args.url)
    const answer = yield* agent.exchange("GET", `/stock-items${tenantQuery(args.tenant)}`, {
      token: approverToken(),
    })
    const { stockItems } = yield* expectStatus(
      answer,
      200,
      Schema.Struct({ stockItems: Schema.Array(StockItemView) }),
      refusal(answer.route, agent.url),
    )
    if (args.json) {
      for (const item of (rawBody(answer) as { stockItems: ReadonlyArray<unknown> }).stockItems)
        yield* Console.log(JSON.stringify(item))
      return
    }
    if (stockItems.length > 0)
      yield* Console.log(
        table(
          ["TENANT", "SKU", "NAME", "ON HAND", "AVAILABLE", "HELD", "REORDER POINT", "OPEN PO"],
          stockItems.map((i) => [
            i.tenantId,
            i.sku,
            i.name,
            i.stock.onHand,
            i.stock.available,
            i.stock.held,
            i.reorderPoint,
            i.openPurchaseOrder ?? "-",
          ]),
        ).join("\n"),
      )
    yield* Console.log(plural(stockItems.length, "stock item"))
  })

/** `mesh stock show <sku>`. */
export const showStockItem = (args: {
  readonly sku: string
  readonly json: boolean
  readonly tenant: Option.Option<string>
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const agent = yield* agentClient(api, args.url)
    const answer = yield* agent.exchange(
      "GET",
      `/stock-items/${encodeURIComponent(args.sku)}${tenantQuery(args.tenant)}`,
      { token: approverToken() },
    )
    const item = yield* expectStatus(answer, 200, StockItemView, refusal(answer.route, agent.url))
    yield* Console.log(args.json ? JSON.stringify(rawBody(answer)) : stockItemText(item))
  })

/** `mesh stock set <sku> --file settings.json`: the file's settings, sent as they are. */
export const setStockItem = (args: {
  readonly sku: string
  readonly file: string
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const agent = yield* agentClient(api, args.url)
    const text = yield* Effect.try({
      try: () => readFileSync(args.file, "utf8"),
      catch: (cause) =>
        meshError({
          _tag: "BadInput",
          message: `--file ${args.file} cannot be read: ${describeCause(cause)}`,
        }),
    })
    // The agent checks the settings and names the field it refuses; the CLI checks only that it
    // has JSON to send.
    const settings = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) =>
        meshError({ _tag: "BadInput", message: `--file ${args.file} is not JSON: ${describeCause(cause)}` }),
    })
    const answer = yield* agent.exchange("PUT", `/stock-items/${encodeURIComponent(args.sku)}`, {
      token: approverToken(),
      body: settings,
    })
    const configured = yield* expectStatus(
      answer,
      [200, 202],
      Configured,
      refusal(`the settings of ${args.sku}`, agent.url),
    )
    yield* Console.log(
      args.json
        ? JSON.stringify(rawBody(answer))
        : configured.changed
          ? `${configured.sku} set; \`mesh stock show ${configured.sku}\` shows it once the agent has applied it`
          : `${configured.sku} unchanged: the agent had these settings already`,
    )
  })

/** `mesh purchase-orders`: orders oldest first (the agent answers at most 500). */
export const listPurchaseOrders = (args: {
  readonly status: Option.Option<string>
  readonly sku: Option.Option<string>
  readonly tenant: Option.Option<string>
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const agent = yield* agentClient(api, args.url)
    const query = new URLSearchParams()
    if (Option.isSome(args.status)) query.set("status", args.status.value)
    if (Option.isSome(args.sku)) query.set("sku", args.sku.value)
    if (Option.isSome(args.tenant)) query.set("tenantId", args.tenant.value)
    const path = query.size === 0 ? "/purchase-orders" : `/purchase-orders?${query}`
    const answer = yield* agent.exchange("GET", path, { token: approverToken() })
    const { purchaseOrders } = yield* expectStatus(
      answer,
      200,
      Schema.Struct({ purchaseOrders: Schema.Array(PurchaseOrderView) }),
      refusal(answer.route, agent.url),
    )
    if (args.json) {
      for (const order of (rawBody(answer) as { purchaseOrders: ReadonlyArray<unknown> }).purchaseOrders)
        yield* Console.log(JSON.stringify(order))
      return
    }
    if (purchaseOrders.length > 0)
      yield* Console.log(
        table(
          [
            "ID",
            "TENANT",
            "SKU",
            "SUPPLIER",
            "STATUS",
            "QUANTITY",
            "RECEIVED",
            "LATE",
            "EXPECTED BY",
            "TOTAL",
          ],
          purchaseOrders.map((o) => [
            o.purchaseOrderId,
            o.tenantId,
            o.sku,
            o.supplierId ?? "-",
            o.status,
            o.quantity,
            o.received,
            o.late ? "late" : "-",
            o.expectedBy ?? "-",
            o.total === null ? "-" : formatMoney(o.total),
          ]),
        ).join("\n"),
      )
    yield* Console.log(plural(purchaseOrders.length, "purchase order"))
  })

/** `mesh purchase-orders show <id>`. */
export const showPurchaseOrder = (args: {
  readonly purchaseOrderId: string
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const agent = yield* agentClient(api, args.url)
    const answer = yield* agent.exchange(
      "GET",
      `/purchase-orders/${encodeURIComponent(args.purchaseOrderId)}`,
      { token: approverToken() },
    )
    const order = yield* expectStatus(answer, 200, PurchaseOrderView, refusal(answer.route, agent.url))
    yield* Console.log(args.json ? JSON.stringify(rawBody(answer)) : purchaseOrderText(order))
  })

/** `mesh purchase-orders receive <id> --quantity N --delivery D`. */
export const receiveGoods = (args: {
  readonly purchaseOrderId: string
  readonly quantity: number
  readonly delivery: string
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const agent = yield* agentClient(api, args.url)
    // The delivery note's id makes a retry idempotent: the agent counts a delivery once.
    const answer = yield* agent.exchange(
      "POST",
      `/purchase-orders/${encodeURIComponent(args.purchaseOrderId)}/receipts`,
      {
        token: approverToken(),
        body: { quantity: args.quantity, deliveryId: args.delivery },
        hint: `; sending it again with --delivery ${args.delivery} counts it once`,
      },
    )
    const received = yield* expectStatus(
      answer,
      202,
      Received,
      refusal(`the receipt for ${args.purchaseOrderId}`, agent.url),
    )
    yield* Console.log(
      args.json
        ? JSON.stringify(rawBody(answer))
        : `${received.received} received on ${received.purchaseOrderId} (delivery ${args.delivery})`,
    )
  })

/** `mesh purchase-orders place …`: a buyer's own order; prints its id. */
export const placePurchaseOrder = (args: {
  readonly reference: string
  readonly tenant: string
  readonly sku: string
  readonly supplier: string
  readonly quantity: number
  readonly unitCost: string
  readonly currency: string
  readonly leadTimeDays: number
  readonly json: boolean
  readonly url: Option.Option<string>
}) =>
  Effect.gen(function* () {
    if (!/^[A-Z]{3}$/.test(args.currency))
      return yield* meshError({
        _tag: "BadInput",
        message: `--currency ${args.currency} is not an ISO-4217 code such as EUR`,
      })
    const unitCost = moneyFromDecimal(args.unitCost, args.currency)
    if (unitCost === undefined)
      return yield* meshError({
        _tag: "BadInput",
        message: `--unit-cost ${args.unitCost} is not an amount in ${args.currency}: write it as 12.50, with no more decimals than the currency has`,
      })
    const agent = yield* agentClient(api, args.url)
    // The reference makes a retry idempotent: the agent takes a reference once.
    const answer = yield* agent.exchange("POST", "/purchase-orders", {
      token: approverToken(),
      body: {
        reference: args.reference,
        tenantId: args.tenant,
        sku: args.sku,
        supplierId: args.supplier,
        quantity: args.quantity,
        unitCost,
        leadTimeDays: args.leadTimeDays,
      },
      hint: `; sending it again with --reference ${args.reference} places it once`,
    })
    const placed = yield* expectStatus(answer, [200, 202], Placed, refusal("the purchase order", agent.url))
    if (answer.status === 200)
      yield* Effect.logInfo("the reference was taken before; this is the same order").pipe(
        Effect.annotateLogs({ reference: args.reference, purchaseOrderId: placed.purchaseOrderId }),
      )
    yield* Console.log(args.json ? JSON.stringify(rawBody(answer)) : placed.purchaseOrderId)
  })
