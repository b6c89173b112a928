import { type customerEvents, parseTenantScopedId, type procurementEvents } from "@mesh/contracts"
import { defineProjection, type ProjectionEvent, readModelSchemaOf } from "@mesh/kernel/projections"
import type { Kysely, QueryCreator, Transaction } from "kysely"

/**
 * The events this read model reads: the customer domain's, and procurement's, of which it keeps how
 * each order's lines stand in the stock (back-ordered until a unit is reserved for them).
 */
export type CustomerDefs = (typeof customerEvents)[number] | (typeof procurementEvents)[number]

/** A ticket as operators see it: its state, triage, the drafted and sent replies, and what it waits for. */
export interface TicketsTable {
  ticket_id: string
  tenant_id: string
  customer_id: string
  thread_id: string
  channel: string
  subject: string
  /** open or resolved. */
  status: string
  intent: string | null
  sentiment: string | null
  priority: string | null
  confidence: number | null
  /** The customer's messages on this ticket. */
  contacts: number
  escalated: boolean
  /** Why it was escalated, in words, and by code (JSON array). */
  escalation_reason: string | null
  escalation_codes: string | null
  queue: string | null
  /** The reply policy's disposition of the latest draft and its reasons (JSON array of {code, detail}). */
  disposition: string | null
  disposition_reasons: string | null
  draft_id: string | null
  drafted_reply: string | null
  /** The send action of the latest draft, whose approval the approvals API takes. */
  reply_action_id: string | null
  /** The latest draft sent, when it has been. */
  sent_draft_id: string | null
  /** What the ticket waits for: approval (a person approves the reply), human (escalated), refund, or null. */
  awaiting: string | null
  guardrails_tripped: number
  refund_status: string | null
  refund_amount_minor: number | null
  refund_currency: string | null
  resolution: string | null
  opened_at: string
  /** The customer stream's sequence of the commit that opened it: a message counts the tickets opened before it. */
  opened_sequence: number
  updated_at: string
}

/** A customer's message, the thread's short-term memory. */
export interface TicketMessagesTable {
  ticket_id: string
  message_id: string
  contact: number
  channel: string
  subject: string
  body: string
  received_at: string
}

/** A customer's order as its history shows it. */
export interface CustomerOrdersTable {
  order_id: string
  tenant_id: string
  customer_id: string
  status: string
  total_minor: number
  currency: string
  /** JSON array of order lines. */
  lines: string
  carrier: string | null
  tracking_number: string | null
  expected_delivery: string | null
  placed_at: string
  /** The customer stream's sequence of the commit that placed it. */
  placed_sequence: number
  updated_at: string
}

/**
 * Each change of an order's status as the order stood after it, at the customer stream's sequence
 * it came at: a message is answered from its orders as they stood when it came, however late its
 * reaction runs (a redelivery, a replay, a reaction behind a busy hour).
 */
export interface CustomerOrderChangesTable {
  tenant_id: string
  order_id: string
  /** The order's aggregate version of the change (one commit may hold several changes). */
  version: number
  sequence: number
  status: string
  carrier: string | null
  tracking_number: string | null
  expected_delivery: string | null
}

/** A refund asked on a ticket, by its action: an order is refunded once, whichever ticket asks. */
export interface OrderRefundsTable {
  action_id: string
  tenant_id: string
  order_id: string
  ticket_id: string
  /** requested, issued or refused. */
  status: string
  amount_minor: number
  currency: string
  updated_at: string
}

/** How an order's line of a SKU stands in the stock, as procurement allocates it. */
export interface OrderStockTable {
  tenant_id: string
  /** The storefront's order id. */
  order_id: string
  sku: string
  /** backordered, reserved, shipped, released or returned. */
  status: string
  updated_at: string
}

/** The customer-care read model. */
export interface CustomerCareReadModel {
  tickets: TicketsTable
  ticket_messages: TicketMessagesTable
  customer_orders: CustomerOrdersTable
  customer_order_changes: CustomerOrderChangesTable
  order_refunds: OrderRefundsTable
  order_stock: OrderStockTable
}

type Trx = Transaction<CustomerCareReadModel>

const patchTicket = (trx: Trx, ticketId: string, at: string, patch: Partial<TicketsTable>) =>
  trx
    .updateTable("tickets")
    .set({ ...patch, updated_at: at })
    .where("ticket_id", "=", ticketId)
    .execute()

// An allocation's id is its order's (tenant-scoped); the row is keyed by tenant, order and SKU. Written
// whichever of the order's and the allocation's events is applied first: they are on two streams. An
// allocation whose id names no tenant is no order of customer ops' (which always scopes them): it is
// passed over, since another agent's stream must never stop this read model.
const setOrderStock = async (trx: Trx, allocationId: string, sku: string, status: string, at: string) => {
  const order = parseTenantScopedId(allocationId)
  if (order === undefined) return
  await trx
    .insertInto("order_stock")
    .values({ tenant_id: order.tenantId, order_id: order.ownId, sku, status, updated_at: at })
    .onConflict((oc) => oc.columns(["tenant_id", "order_id", "sku"]).doUpdateSet({ status, updated_at: at }))
    .execute()
}

const applyOne = async (trx: Trx, { event, sequence }: ProjectionEvent<CustomerDefs>): Promise<void> => {
  const id = event.aggregateId
  const at = event.occurredAt
  switch (event.type) {
    case "OrderStockBackordered":
      return setOrderStock(trx, id, event.payload.sku, "backordered", at)
    case "OrderStockReserved":
      return setOrderStock(trx, id, event.payload.sku, "reserved", at)
    case "OrderStockShipped":
      return setOrderStock(trx, id, event.payload.sku, "shipped", at)
    case "OrderStockReleased":
      return setOrderStock(trx, id, event.payload.sku, "released", at)
    case "OrderStockReturned":
      return setOrderStock(trx, id, event.payload.sku, "returned", at)
    case "TicketOpened": {
      const p = event.payload
      await trx
        .insertInto("tickets")
        .values({
          ticket_id: id,
          tenant_id: p.tenantId,
          customer_id: p.customerId,
          thread_id: p.threadId ?? "default",
          channel: p.channel,
          subject: p.subject,
          status: "open",
          intent: null,
          sentiment: null,
          priority: null,
          confidence: null,
          contacts: 1,
          escalated: false,
          escalation_reason: null,
          escalation_codes: null,
          queue: null,
          disposition: null,
          disposition_reasons: null,
          draft_id: null,
          drafted_reply: null,
          reply_action_id: null,
          sent_draft_id: null,
          awaiting: null,
          guardrails_tripped: 0,
          refund_status: null,
          refund_amount_minor: null,
          refund_currency: null,
          resolution: null,
          opened_at: at,
          opened_sequence: sequence,
          updated_at: at,
        })
        .onConflict((oc) => oc.column("ticket_id").doNothing())
        .execute()
      await trx
        .insertInto("ticket_messages")
        .values({
          ticket_id: id,
          message_id: p.messageId ?? "first",
          contact: 1,
          channel: p.channel,
          subject: p.subject,
          body: p.body,
          received_at: at,
        })
        .onConflict((oc) => oc.columns(["ticket_id", "message_id"]).doNothing())
        .execute()
      return
    }
    case "TicketMessageReceived": {
      const p = event.payload
      await trx
        .insertInto("ticket_messages")
        .values({
          ticket_id: id,
          message_id: p.messageId,
          contact: p.contact,
          channel: p.channel,
          subject: p.subject,
          body: p.body,
          received_at: at,
        })
        .onConflict((oc) => oc.columns(["ticket_id", "message_id"]).doNothing())
        .execute()
      await patchTicket(trx, id, at, { contacts: p.contact, status: "open", resolution: null })
      return
    }
    case "TicketTriaged":
      await patchTicket(trx, id, at, {
        intent: event.payload.intent,
        sentiment: event.payload.sentiment,
        priority: event.payload.priority,
        confidence: event.payload.confidence,
      })
      return
    case "GuardrailTripped":
      await trx
        .updateTable("tickets")
        .set((eb) => ({ guardrails_tripped: eb("guardrails_tripped", "+", 1), updated_at: at }))
        .where("ticket_id", "=", id)
        .execute()
      return
    case "ReplyDrafted":
      await patchTicket(trx, id, at, { draft_id: event.payload.draftId, drafted_reply: event.payload.body })
      return
    case "ReplyWrittenByPerson":
      await patchTicket(trx, id, at, {
        draft_id: event.payload.draftId,
        drafted_reply: event.payload.body,
        disposition: "written-by-person",
        awaiting: null,
      })
      return
    case "KnowledgeDrafted":
    case "KnowledgeApproved":
    case "KnowledgeRefused":
    case "KnowledgeRetired":
      return
    case "ReplyRouted": {
      const p = event.payload
      const awaiting =
        p.disposition === "escalate" ? "human" : p.disposition === "await-approval" ? "approval" : null
      await patchTicket(trx, id, at, {
        disposition: p.disposition,
        disposition_reasons: JSON.stringify(p.reasons),
        reply_action_id: p.actionId,
        awaiting,
      })
      return
    }
    case "TicketEscalated":
      await patchTicket(trx, id, at, {
        escalated: true,
        escalation_reason: event.payload.reason,
        escalation_codes: JSON.stringify(event.payload.reasons ?? []),
        queue: event.payload.queue,
        awaiting: "human",
      })
      return
    case "ReplySent":
      await patchTicket(trx, id, at, { sent_draft_id: event.payload.draftId, awaiting: null })
      return
    case "RefundRequested": {
      await patchTicket(trx, id, at, {
        refund_status: "requested",
        refund_amount_minor: event.payload.amount.amountMinor,
        refund_currency: event.payload.amount.currency,
      })
      const ticket = await trx
        .selectFrom("tickets")
        .select("tenant_id")
        .where("ticket_id", "=", id)
        .executeTakeFirst()
      if (ticket === undefined) return
      await trx
        .insertInto("order_refunds")
        .values({
          action_id: event.payload.actionId,
          tenant_id: ticket.tenant_id,
          order_id: event.payload.orderId,
          ticket_id: id,
          status: "requested",
          amount_minor: event.payload.amount.amountMinor,
          currency: event.payload.amount.currency,
          updated_at: at,
        })
        .onConflict((c) => c.column("action_id").doNothing())
        .execute()
      return
    }
    case "RefundIssued":
      await patchTicket(trx, id, at, { refund_status: "issued" })
      await trx
        .updateTable("order_refunds")
        .set({ status: "issued", updated_at: at })
        .where("action_id", "=", event.payload.actionId)
        .execute()
      return
    case "RefundRejected": {
      await patchTicket(trx, id, at, { refund_status: "refused" })
      // Early records name no action: the ticket's requested refund of the order is the one refused.
      const named = event.payload.actionId
      await trx
        .updateTable("order_refunds")
        .set({ status: "refused", updated_at: at })
        .where((w) =>
          named === undefined
            ? w.and([
                w("ticket_id", "=", id),
                w("order_id", "=", event.payload.orderId),
                w("status", "=", "requested"),
              ])
            : w("action_id", "=", named),
        )
        .execute()
      return
    }
    case "TicketResolved":
      await patchTicket(trx, id, at, {
        status: "resolved",
        resolution: event.payload.resolution,
        awaiting: null,
      })
      return
    case "OrderPlaced": {
      const p = event.payload
      await trx
        .insertInto("customer_orders")
        .values({
          order_id: p.orderId,
          tenant_id: p.tenantId,
          customer_id: p.customerId,
          status: "placed",
          total_minor: p.total.amountMinor,
          currency: p.total.currency,
          lines: JSON.stringify(p.lines),
          carrier: null,
          tracking_number: null,
          expected_delivery: null,
          placed_at: p.placedAt,
          placed_sequence: sequence,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(["tenant_id", "order_id"]).doNothing())
        .execute()
      return
    }
    case "OrderStatusChanged": {
      const p = event.payload
      // The aggregate id is the order's in its tenant (`orderIdOf`); the row is keyed by both.
      const order = parseTenantScopedId(id)
      if (order === undefined) throw new Error(`order ${JSON.stringify(id)} names no tenant`)
      await trx
        .updateTable("customer_orders")
        .set({
          status: p.status,
          ...(p.carrier === null ? {} : { carrier: p.carrier }),
          ...(p.trackingNumber === null ? {} : { tracking_number: p.trackingNumber }),
          ...(p.expectedDelivery === null ? {} : { expected_delivery: p.expectedDelivery }),
          updated_at: p.changedAt,
        })
        .where("tenant_id", "=", order.tenantId)
        .where("order_id", "=", order.ownId)
        .execute()
      // The order as it stands after the change, kept at the change's place in the stream.
      await trx
        .insertInto("customer_order_changes")
        .columns([
          "tenant_id",
          "order_id",
          "version",
          "sequence",
          "status",
          "carrier",
          "tracking_number",
          "expected_delivery",
        ])
        .expression((eb) =>
          eb
            .selectFrom("customer_orders")
            .select((o) => [
              "tenant_id",
              "order_id",
              o.val(event.aggregateVersion).as("version"),
              o.val(sequence).as("sequence"),
              "status",
              "carrier",
              "tracking_number",
              "expected_delivery",
            ])
            .where("tenant_id", "=", order.tenantId)
            .where("order_id", "=", order.ownId),
        )
        .onConflict((oc) => oc.columns(["tenant_id", "order_id", "version"]).doNothing())
        .execute()
      return
    }
  }
}

/**
 * The customer-care read model: tickets with their state, triage, drafted and sent replies and what
 * they wait for; each thread's messages; and the customers' orders, which replies are grounded in.
 * Rebuildable from the customer stream like every read model.
 */
export const customerCareProjection = defineProjection<CustomerDefs, CustomerCareReadModel>({
  name: "customer-care",
  // 2: order_refunds, so that an order is refunded once whichever ticket asks. 3: orders keyed by
  // tenant and the storefront's id, since two shops may both have order 1001. 4: order_stock, each
  // order line's stock from procurement's stream, so a reply can say a line waits for new stock.
  // 5: the sequences tickets were opened and orders placed at, and each order's changes, so that a
  // message is answered from the records as they stood when it came.
  version: 5,
  streams: [{ domain: "customer" }, { domain: "procurement" }],
  tables: [
    "tickets",
    "ticket_messages",
    "customer_orders",
    "customer_order_changes",
    "order_refunds",
    "order_stock",
  ],
  onFailure: "stop",
  lingerMs: 50,
  createTables: async (trx) => {
    await trx.schema
      .createTable("tickets")
      .addColumn("ticket_id", "text", (c) => c.primaryKey())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("customer_id", "text", (c) => c.notNull())
      .addColumn("thread_id", "text", (c) => c.notNull())
      .addColumn("channel", "text", (c) => c.notNull())
      .addColumn("subject", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("intent", "text")
      .addColumn("sentiment", "text")
      .addColumn("priority", "text")
      .addColumn("confidence", "double precision")
      .addColumn("contacts", "integer", (c) => c.notNull())
      .addColumn("escalated", "boolean", (c) => c.notNull())
      .addColumn("escalation_reason", "text")
      .addColumn("escalation_codes", "text")
      .addColumn("queue", "text")
      .addColumn("disposition", "text")
      .addColumn("disposition_reasons", "text")
      .addColumn("draft_id", "text")
      .addColumn("drafted_reply", "text")
      .addColumn("reply_action_id", "text")
      .addColumn("sent_draft_id", "text")
      .addColumn("awaiting", "text")
      .addColumn("guardrails_tripped", "integer", (c) => c.notNull())
      .addColumn("refund_status", "text")
      .addColumn("refund_amount_minor", "bigint")
      .addColumn("refund_currency", "text")
      .addColumn("resolution", "text")
      .addColumn("opened_at", "text", (c) => c.notNull())
      .addColumn("opened_sequence", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute()
    await trx.schema
      .createIndex("tickets_by_customer")
      .on("tickets")
      .columns(["tenant_id", "customer_id", "opened_at"])
      .execute()
    await trx.schema
      .createIndex("tickets_by_status")
      .on("tickets")
      .columns(["status", "updated_at"])
      .execute()
    await trx.schema
      .createTable("ticket_messages")
      .addColumn("ticket_id", "text", (c) => c.notNull())
      .addColumn("message_id", "text", (c) => c.notNull())
      .addColumn("contact", "integer", (c) => c.notNull())
      .addColumn("channel", "text", (c) => c.notNull())
      .addColumn("subject", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("received_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("ticket_messages_pk", ["ticket_id", "message_id"])
      .execute()
    await trx.schema
      .createTable("customer_orders")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("order_id", "text", (c) => c.notNull())
      .addColumn("customer_id", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("total_minor", "bigint", (c) => c.notNull())
      .addColumn("currency", "text", (c) => c.notNull())
      .addColumn("lines", "text", (c) => c.notNull())
      .addColumn("carrier", "text")
      .addColumn("tracking_number", "text")
      .addColumn("expected_delivery", "text")
      .addColumn("placed_at", "text", (c) => c.notNull())
      .addColumn("placed_sequence", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("customer_orders_pk", ["tenant_id", "order_id"])
      .execute()
    await trx.schema
      .createTable("customer_order_changes")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("order_id", "text", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("sequence", "bigint", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("carrier", "text")
      .addColumn("tracking_number", "text")
      .addColumn("expected_delivery", "text")
      .addPrimaryKeyConstraint("customer_order_changes_pk", ["tenant_id", "order_id", "version"])
      .execute()
    await trx.schema
      .createIndex("customer_orders_by_customer")
      .on("customer_orders")
      .columns(["tenant_id", "customer_id", "placed_at"])
      .execute()
    await trx.schema
      .createTable("order_refunds")
      .addColumn("action_id", "text", (c) => c.primaryKey())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("order_id", "text", (c) => c.notNull())
      .addColumn("ticket_id", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("amount_minor", "bigint", (c) => c.notNull())
      .addColumn("currency", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute()
    await trx.schema
      .createIndex("order_refunds_by_order")
      .on("order_refunds")
      .columns(["tenant_id", "order_id"])
      .execute()
    await trx.schema
      .createTable("order_stock")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("order_id", "text", (c) => c.notNull())
      .addColumn("sku", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("order_stock_pk", ["tenant_id", "order_id", "sku"])
      .execute()
  },
  apply: async (trx, events) => {
    for (const event of events) await applyOne(trx, event)
  },
})

/** The customer-care read model of `agent` in its namespace's schema. */
export const customerCareReadModel = (
  db: Kysely<unknown>,
  namespace: string,
  agent: string,
): QueryCreator<CustomerCareReadModel> =>
  (db as Kysely<CustomerCareReadModel>).withSchema(readModelSchemaOf(namespace, agent))

type Db = Pick<QueryCreator<CustomerCareReadModel>, "selectFrom">

/** A customer's order as replies cite it. */
export interface CustomerOrder {
  readonly orderId: string
  readonly status: string
  readonly total: { readonly amountMinor: number; readonly currency: string }
  readonly lines: ReadonlyArray<{ readonly sku: string; readonly name: string; readonly quantity: number }>
  readonly carrier: string | null
  readonly trackingNumber: string | null
  readonly expectedDelivery: string | null
  readonly placedAt: string
  /** The SKUs of its lines that are back-ordered: waiting for new stock. */
  readonly waitingForStock: ReadonlyArray<string>
}

const orderOf = (row: CustomerOrdersTable, waitingForStock: ReadonlyArray<string> = []): CustomerOrder => ({
  orderId: row.order_id,
  status: row.status,
  total: { amountMinor: Number(row.total_minor), currency: row.currency },
  lines: JSON.parse(row.lines),
  carrier: row.carrier,
  trackingNumber: row.tracking_number,
  expectedDelivery: row.expected_delivery,
  placedAt: row.placed_at,
  waitingForStock,
})

/** A refund of an order that waits for its decision or was paid. */
export interface OpenRefund {
  readonly actionId: string
  readonly ticketId: string
  readonly status: "requested" | "issued"
  readonly amount: { readonly amountMinor: number; readonly currency: string }
}

/**
 * The refund of an order, within the tenant, that waits for its decision or was paid, if any, on a
 * ticket other than `exceptTicketId` (whose own refunds its log answers for).
 */
export const openRefundOfOrder = async (
  db: Db,
  tenantId: string,
  orderId: string,
  exceptTicketId: string,
): Promise<OpenRefund | undefined> => {
  const row = await db
    .selectFrom("order_refunds")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("order_id", "=", orderId)
    .where("ticket_id", "<>", exceptTicketId)
    .where("status", "in", ["requested", "issued"])
    .orderBy("updated_at", "asc")
    .executeTakeFirst()
  return row === undefined
    ? undefined
    : {
        actionId: row.action_id,
        ticketId: row.ticket_id,
        status: row.status as OpenRefund["status"],
        amount: { amountMinor: Number(row.amount_minor), currency: row.currency },
      }
}

/**
 * A customer's orders, newest first (their history, within the tenant). With `before` (a customer
 * stream sequence), as they stood before that commit: the orders placed before it, each with its
 * status, carrier and tracking as its last change before it left them. The lines' stock is read as
 * it stands now: it comes from procurement's stream, whose place beside a customer commit the read
 * model does not keep.
 */
export const ordersOfCustomer = async (
  db: Db,
  tenantId: string,
  customerId: string,
  options: { readonly limit?: number; readonly before?: number } = {},
): Promise<ReadonlyArray<CustomerOrder>> => {
  const { before } = options
  let query = db
    .selectFrom("customer_orders")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("customer_id", "=", customerId)
  if (before !== undefined) query = query.where("placed_sequence", "<", before)
  const current = await query
    .orderBy("placed_at", "desc")
    .limit(options.limit ?? 5)
    .execute()
  if (current.length === 0) return []
  const rows = before === undefined ? current : await asTheyStood(db, tenantId, current, before)
  const waiting = await db
    .selectFrom("order_stock")
    .select(["order_id", "sku"])
    .where("tenant_id", "=", tenantId)
    .where(
      "order_id",
      "in",
      rows.map((r) => r.order_id),
    )
    .where("status", "=", "backordered")
    .execute()
  return rows.map((row) =>
    orderOf(
      row,
      waiting.filter((w) => w.order_id === row.order_id).map((w) => w.sku),
    ),
  )
}

/** Orders as they stood before the customer stream's commit `before`: their last change before it, or as placed. */
const asTheyStood = async (
  db: Db,
  tenantId: string,
  orders: ReadonlyArray<CustomerOrdersTable>,
  before: number,
): Promise<ReadonlyArray<CustomerOrdersTable>> => {
  const changes = await db
    .selectFrom("customer_order_changes")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where(
      "order_id",
      "in",
      orders.map((o) => o.order_id),
    )
    .where("sequence", "<", before)
    .orderBy("version", "asc")
    .execute()
  const last = new Map(changes.map((c) => [c.order_id, c]))
  return orders.map((order) => {
    const change = last.get(order.order_id)
    return change === undefined
      ? { ...order, status: "placed", carrier: null, tracking_number: null, expected_delivery: null }
      : {
          ...order,
          status: change.status,
          carrier: change.carrier,
          tracking_number: change.tracking_number,
          expected_delivery: change.expected_delivery,
        }
  })
}

/** A customer's earlier tickets (other than `ticketId`), newest first, with how they ended. */
export const earlierTicketsOf = (
  db: Db,
  tenantId: string,
  customerId: string,
  ticketId: string,
  /**
   * Only tickets opened before this customer stream sequence (the message's commit): a reaction that
   * lags, or a replay, must not count later ones, nor one opened by a writer whose clock ran behind.
   */
  openedBefore: number,
) =>
  db
    .selectFrom("tickets")
    .select(["ticket_id", "subject", "intent", "status", "resolution", "opened_at"])
    .where("tenant_id", "=", tenantId)
    .where("customer_id", "=", customerId)
    .where("ticket_id", "!=", ticketId)
    .where("opened_sequence", "<", openedBefore)
    .orderBy("opened_at", "desc")
    .limit(20)
    .execute()

/** A ticket as the operator API answers it. */
export interface TicketView {
  readonly ticketId: string
  readonly tenantId: string
  readonly customerId: string
  readonly channel: string
  readonly subject: string
  readonly status: string
  readonly intent: string | null
  readonly sentiment: string | null
  readonly priority: string | null
  readonly confidence: number | null
  readonly contacts: number
  readonly escalated: boolean
  readonly escalationReason: string | null
  readonly escalationCodes: ReadonlyArray<string>
  readonly queue: string | null
  readonly disposition: string | null
  readonly dispositionReasons: ReadonlyArray<{ readonly code: string; readonly detail: string }>
  readonly draftedReply: string | null
  readonly replyActionId: string | null
  readonly replySent: boolean
  readonly awaiting: string | null
  readonly guardrailsTripped: number
  readonly refund: {
    readonly status: string
    readonly amount: { readonly amountMinor: number; readonly currency: string }
  } | null
  readonly resolution: string | null
  readonly openedAt: string
  readonly updatedAt: string
}

const viewOf = (row: TicketsTable): TicketView => ({
  ticketId: row.ticket_id,
  tenantId: row.tenant_id,
  customerId: row.customer_id,
  channel: row.channel,
  subject: row.subject,
  status: row.status,
  intent: row.intent,
  sentiment: row.sentiment,
  priority: row.priority,
  confidence: row.confidence === null ? null : Number(row.confidence),
  contacts: row.contacts,
  escalated: row.escalated,
  escalationReason: row.escalation_reason,
  escalationCodes: row.escalation_codes === null ? [] : JSON.parse(row.escalation_codes),
  queue: row.queue,
  disposition: row.disposition,
  dispositionReasons: row.disposition_reasons === null ? [] : JSON.parse(row.disposition_reasons),
  draftedReply: row.drafted_reply,
  replyActionId: row.reply_action_id,
  replySent: row.sent_draft_id !== null && row.sent_draft_id === row.draft_id,
  awaiting: row.awaiting,
  guardrailsTripped: row.guardrails_tripped,
  refund:
    row.refund_status === null || row.refund_amount_minor === null || row.refund_currency === null
      ? null
      : {
          status: row.refund_status,
          amount: { amountMinor: Number(row.refund_amount_minor), currency: row.refund_currency },
        },
  resolution: row.resolution,
  openedAt: row.opened_at,
  updatedAt: row.updated_at,
})

/** What a ticket listing is narrowed to. */
export interface TicketFilter {
  readonly status?: string
  readonly awaiting?: string
  readonly customerId?: string
  readonly limit?: number
}

/** Tickets, most recently changed first. */
export const listTickets = async (db: Db, filter: TicketFilter = {}): Promise<ReadonlyArray<TicketView>> => {
  let query = db.selectFrom("tickets").selectAll()
  if (filter.status !== undefined) query = query.where("status", "=", filter.status)
  if (filter.awaiting !== undefined) query = query.where("awaiting", "=", filter.awaiting)
  if (filter.customerId !== undefined) query = query.where("customer_id", "=", filter.customerId)
  const rows = await query
    .orderBy("updated_at", "desc")
    .limit(filter.limit ?? 100)
    .execute()
  return rows.map(viewOf)
}

/** One ticket with its thread, or undefined. */
export const ticketById = async (db: Db, ticketId: string) => {
  const row = await db.selectFrom("tickets").selectAll().where("ticket_id", "=", ticketId).executeTakeFirst()
  if (row === undefined) return undefined
  const messages = await db
    .selectFrom("ticket_messages")
    .selectAll()
    .where("ticket_id", "=", ticketId)
    .orderBy("contact")
    .execute()
  return {
    ...viewOf(row),
    messages: messages.map((m) => ({
      messageId: m.message_id,
      contact: m.contact,
      channel: m.channel,
      subject: m.subject,
      body: m.body,
      receivedAt: m.received_at,
    })),
  }
}
