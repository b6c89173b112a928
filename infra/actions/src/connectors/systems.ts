import { type PersonalField, personal, personalFieldsOf } from "@mesh/contracts"
import { Schema } from "effect"
import type { HttpApi, HttpOperation } from "./httpConnector.ts"

// The route tables of the shop's external systems, as their APIs document them (and as the
// simulators in tools/simulators serve them). Parameter schemas check shape only; business rules
// (positive amounts, stock never below zero) are the system's to refuse.

const Id = Schema.NonEmptyString
// What a customer wrote or where they are reached, in a call's parameters or its answer: marked,
// so that exported history redacts it (`personalFieldsOfKind`).
const personalText = personal("text")
const Currency = Schema.String.check(Schema.isPattern(/^[A-Z]{3}$/, { message: "must be an ISO-4217 code" }))
// Undo operations take no parameters: the reference in the path says what to undo.
const NoParameters = Schema.Struct({})

const operation = (
  kind: string,
  path: string,
  parameters: HttpOperation["parameters"],
  response: HttpOperation["response"],
) => ({
  kind,
  path,
  parameters,
  response,
})

const refund = <S extends string>(status: S) =>
  Schema.Struct({
    id: Id,
    orderId: Schema.String,
    amountMinor: Schema.Int,
    currency: Schema.String,
    reason: personalText(Schema.String),
    status: Schema.Literal(status),
  })

/** The payment provider: refunds of orders (`payment.refund`), undone by cancelling them. */
export const paymentApi: HttpApi = {
  system: "payment",
  actions: [
    {
      execute: operation(
        "payment.refund",
        "/v1/refunds",
        Schema.Struct({
          orderId: Id,
          amountMinor: Schema.Int,
          currency: Currency,
          reason: Schema.optionalKey(personalText(Schema.String)),
        }),
        refund("succeeded"),
      ),
      compensation: operation(
        "payment.cancel-refund",
        "/v1/refunds/:ref/cancel",
        NoParameters,
        refund("cancelled"),
      ),
    },
  ],
}

const purchaseOrder = <S extends string>(status: S) =>
  Schema.Struct({
    id: Id,
    supplierId: Schema.String,
    sku: Schema.String,
    quantity: Schema.Int,
    unitCostMinor: Schema.Int,
    currency: Schema.String,
    status: Schema.Literal(status),
  })

/** The supplier: purchase orders (`supplier.place-order`), undone by cancelling them. */
export const supplierApi: HttpApi = {
  system: "supplier",
  actions: [
    {
      execute: operation(
        "supplier.place-order",
        "/v1/purchase-orders",
        Schema.Struct({
          supplierId: Id,
          sku: Id,
          quantity: Schema.Int,
          unitCostMinor: Schema.Int,
          currency: Currency,
        }),
        purchaseOrder("placed"),
      ),
      compensation: operation(
        "supplier.cancel-order",
        "/v1/purchase-orders/:ref/cancel",
        NoParameters,
        purchaseOrder("cancelled"),
      ),
    },
  ],
}

const stockAdjustment = <S extends string>(status: S) =>
  Schema.Struct({
    id: Id,
    sku: Schema.String,
    delta: Schema.Int,
    reason: Schema.String,
    status: Schema.Literal(status),
    onHand: Schema.Int,
  })

const listing = <S extends string>(status: S) =>
  Schema.Struct({
    id: Id,
    sku: Schema.String,
    title: Schema.String,
    priceMinor: Schema.Int,
    currency: Schema.String,
    status: Schema.Literal(status),
  })

const availability = <S extends string>(status: S) =>
  Schema.Struct({
    id: Id,
    sku: Schema.String,
    inStock: Schema.Boolean,
    previous: Schema.Boolean,
    status: Schema.Literal(status),
  })

/**
 * The storefront: stock adjustments by a delta (`storefront.adjust-stock`, undone by reverting
 * them), product listings (`storefront.publish-listing`, undone by unpublishing them) and whether a
 * listing shows as available to order (`storefront.set-availability`, undone by reverting it).
 */
export const storefrontApi: HttpApi = {
  system: "storefront",
  actions: [
    {
      execute: operation(
        "storefront.adjust-stock",
        "/v1/stock-adjustments",
        Schema.Struct({ sku: Id, delta: Schema.Int, reason: Schema.optionalKey(Schema.String) }),
        stockAdjustment("applied"),
      ),
      compensation: operation(
        "storefront.revert-stock-adjustment",
        "/v1/stock-adjustments/:ref/revert",
        NoParameters,
        stockAdjustment("reverted"),
      ),
    },
    {
      execute: operation(
        "storefront.publish-listing",
        "/v1/listings",
        Schema.Struct({ sku: Id, title: Id, priceMinor: Schema.Int, currency: Currency }),
        listing("published"),
      ),
      compensation: operation(
        "storefront.unpublish-listing",
        "/v1/listings/:ref/unpublish",
        NoParameters,
        listing("unpublished"),
      ),
    },
    {
      execute: operation(
        "storefront.set-availability",
        "/v1/listing-availability",
        Schema.Struct({ sku: Id, inStock: Schema.Boolean }),
        availability("applied"),
      ),
      compensation: operation(
        "storefront.revert-availability",
        "/v1/listing-availability/:ref/revert",
        NoParameters,
        availability("reverted"),
      ),
    },
  ],
}

const message = <S extends string>(status: S) =>
  Schema.Struct({
    id: Id,
    to: personalText(Schema.String),
    subject: personalText(Schema.String),
    body: personalText(Schema.String),
    inReplyTo: Schema.NullOr(Schema.String),
    status: Schema.Literal(status),
  })

/**
 * The mailbox: outgoing messages, replies included (`mailbox.send-message`, with `inReplyTo`),
 * undone by a retraction, since mail cannot be unsent.
 */
export const mailboxApi: HttpApi = {
  system: "mailbox",
  actions: [
    {
      execute: operation(
        "mailbox.send-message",
        "/v1/messages",
        Schema.Struct({
          to: personalText(Id),
          subject: personalText(Id),
          body: personalText(Id),
          inReplyTo: Schema.optionalKey(Schema.String),
        }),
        message("sent"),
      ),
      compensation: operation(
        "mailbox.retract-message",
        "/v1/messages/:ref/retract",
        NoParameters,
        message("retracted"),
      ),
    },
  ],
}

/** The route tables of the four external systems. */
export const httpApis = [paymentApi, supplierApi, storefrontApi, mailboxApi] as const

/** The personal fields of an action kind's parameters and of the answer it records. */
export interface KindPersonalFields {
  readonly parameters: ReadonlyArray<PersonalField>
  readonly result: ReadonlyArray<PersonalField>
}

const personalByKind = new Map<string, KindPersonalFields>(
  httpApis.flatMap((api) =>
    api.actions.flatMap((action) =>
      [action.execute, action.compensation].map(
        (op) =>
          [
            op.kind,
            {
              parameters: personalFieldsOf(op.parameters as unknown as Schema.Top),
              result: personalFieldsOf(op.response as unknown as Schema.Top),
            },
          ] as const,
      ),
    ),
  ),
)

/**
 * Where an action kind of the shop's systems carries personal data, in its parameters and in its
 * answer; undefined for a kind no system here declares (redact all of its text to be safe).
 */
export const personalFieldsOfKind = (kind: string): KindPersonalFields | undefined => personalByKind.get(kind)
