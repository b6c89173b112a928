import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily } from "./shared.ts"

// The stock and purchase-orders commands talk to the procurement agent's HTTP API, never to its
// packages: the agent owns its read model and the registers' levels, and the CLI sees only what
// the API answers.

const load = () => import("../handlers/procurement.ts")

/** `--url`: the procurement agent's HTTP base URL; else MESH_PROCUREMENT_URL. */
const urlFlag = Flag.String("url").pipe(
  Flag.optional,
  Flag.withDescription("the procurement agent's HTTP base URL (else MESH_PROCUREMENT_URL)"),
)

/** `--json` for a command that prints one answer: the API's JSON object on one line. */
const answerJsonFlag = Flag.Boolean("json").pipe(
  Flag.withDefault(false),
  Flag.withDescription("print the agent's answer as one JSON object"),
)

/** `--tenant`: the shop whose stock is meant, when several sell the same SKU. */
const tenantFlag = Flag.String("tenant").pipe(
  Flag.optional,
  Flag.withDescription("only this tenant's (needed to name a SKU that several tenants stock)"),
)

const skuArgument = Argument.String("sku").pipe(
  Argument.withDescription("the stock item's SKU (`mesh stock` lists them)"),
)

const purchaseOrderArgument = Argument.String("purchase-order-id").pipe(
  Argument.withDescription("the purchase order (`mesh purchase-orders` lists them)"),
)

const atLeast = (minimum: number) =>
  Flag.filter(
    (n: number) => n >= minimum,
    () => `at least ${minimum}`,
  )

/** `mesh stock show <sku>`: one SKU's settings, suppliers, stock levels and open reorder. */
const stockShowCommand = Command.make(
  "show",
  { sku: skuArgument, tenant: tenantFlag, json: answerJsonFlag, url: urlFlag },
  (args) => lazily(load, (h) => h.showStockItem(args)),
).pipe(
  Command.withDescription(
    "Print one stock item: on hand, available, held and confirmed units, its reorder settings, suppliers and open purchase order",
  ),
)

/** `mesh stock set <sku> --file settings.json`: a SKU's settings, as a buyer sets them. */
const stockSetCommand = Command.make(
  "set",
  {
    sku: skuArgument,
    file: Flag.String("file").pipe(
      Flag.withDescription(
        "a JSON file of the settings: tenantId, name, reorderPoint, reorderQuantity, neededWithinDays, suppliers, openingStock?",
      ),
    ),
    json: answerJsonFlag,
    url: urlFlag,
  },
  (args) => lazily(load, (h) => h.setStockItem(args)),
).pipe(
  Command.withDescription(
    "Set a stock item's reorder point and quantity, how soon it is needed, and its suppliers (PUT /stock-items/:sku)",
  ),
)

/** `mesh stock [show|set]`: the procurement agent's stock items, over its HTTP API. */
export const stockCommand = Command.make(
  "stock",
  { json: jsonFlag, tenant: tenantFlag, url: urlFlag },
  (args) => lazily(load, (h) => h.listStock(args)),
).pipe(
  Command.withDescription(
    "List stock items with their live levels, reorder point and open purchase order (the default), show <sku>, set <sku> --file",
  ),
  Command.withSubcommands([stockShowCommand, stockSetCommand]),
)

/** The statuses of a purchase order, as the agent's read model names them. */
const purchaseOrderStatuses = [
  "needs-buyer",
  "drafted",
  "requested",
  "placed",
  "received",
  "cancelled",
] as const

/** `mesh purchase-orders show <id>`: one order with its decision, action, receipts and lateness. */
const purchaseOrderShowCommand = Command.make(
  "show",
  { purchaseOrderId: purchaseOrderArgument, json: answerJsonFlag, url: urlFlag },
  (args) => lazily(load, (h) => h.showPurchaseOrder(args)),
).pipe(
  Command.withDescription(
    "Print one purchase order: its status, supplier, quantities received, lateness, the decision and action behind it, why it was cancelled",
  ),
)

/** `mesh purchase-orders receive <id> --quantity N --delivery D`: goods at the dock. */
const purchaseOrderReceiveCommand = Command.make(
  "receive",
  {
    purchaseOrderId: purchaseOrderArgument,
    quantity: Flag.Int("quantity").pipe(atLeast(1), Flag.withDescription("the units delivered")),
    delivery: Flag.String("delivery").pipe(
      Flag.withDescription("the delivery note's id: the same note sent again counts once"),
    ),
    json: answerJsonFlag,
    url: urlFlag,
  },
  (args) => lazily(load, (h) => h.receiveGoods(args)),
).pipe(Command.withDescription("Record goods received against a placed purchase order, in full or in part"))

/** `mesh purchase-orders place …`: a buyer's own order (a rush order, a supplier the agent does not know). */
const purchaseOrderPlaceCommand = Command.make(
  "place",
  {
    reference: Flag.String("reference").pipe(
      Flag.withDescription(
        "the buyer's reference for the order: the same reference sent again is the same order",
      ),
    ),
    tenant: Flag.String("tenant").pipe(Flag.withDescription("the shop the order is for")),
    sku: Flag.String("sku").pipe(Flag.withDescription("the SKU ordered")),
    supplier: Flag.String("supplier").pipe(Flag.withDescription("the supplier's id")),
    quantity: Flag.Int("quantity").pipe(atLeast(1), Flag.withDescription("the units ordered")),
    unitCost: Flag.String("unit-cost").pipe(
      Flag.withDescription("the price of one unit as written, in --currency (12.50)"),
    ),
    currency: Flag.String("currency").pipe(
      Flag.withDescription("the ISO-4217 currency of --unit-cost (EUR)"),
    ),
    leadTimeDays: Flag.Int("lead-time-days").pipe(
      atLeast(0),
      Flag.withDescription("the days the supplier takes to deliver"),
    ),
    json: answerJsonFlag,
    url: urlFlag,
  },
  (args) => lazily(load, (h) => h.placePurchaseOrder(args)),
).pipe(
  Command.withDescription(
    "Place a buyer's own purchase order (the action policy decides whether it waits for approval); prints its id",
  ),
)

/** `mesh purchase-orders [show|receive|place]`: the procurement agent's purchase orders, over its HTTP API. */
export const purchaseOrdersCommand = Command.make(
  "purchase-orders",
  {
    status: Flag.Literals("status", purchaseOrderStatuses).pipe(
      Flag.optional,
      Flag.withDescription("only orders in this status"),
    ),
    sku: Flag.String("sku").pipe(Flag.optional, Flag.withDescription("only this SKU's orders")),
    tenant: tenantFlag,
    json: jsonFlag,
    url: urlFlag,
  },
  (args) => lazily(load, (h) => h.listPurchaseOrders(args)),
).pipe(
  Command.withDescription(
    "List purchase orders, oldest first (the default; --status, --sku, --tenant), show <id>, receive <id> goods, place a buyer's order",
  ),
  Command.withSubcommands([purchaseOrderShowCommand, purchaseOrderReceiveCommand, purchaseOrderPlaceCommand]),
)
