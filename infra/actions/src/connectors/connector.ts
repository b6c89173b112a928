import type { ActionParameters, ActionResult } from "@mesh/contracts"
import { type Effect, Schema } from "effect"

/** One call to an external system: the idempotency key, the action kind and its parameters. */
export interface ConnectorCall {
  /** The idempotency key: the action id (or the compensation key). The same key always means the same effect. */
  readonly key: string
  /** `<system>.<operation>`, e.g. `payment.refund`. */
  readonly kind: string
  readonly parameters: ActionParameters
}

/** A compensation call: the original effect's key and external reference, and the declared undo. */
export interface CompensationCall extends ConnectorCall {
  /** The key of the action being undone. */
  readonly originalKey: string
  /** What the external system called the original effect (`ActionSucceeded.externalRef`). */
  readonly originalRef: string
}

/** What an external system answered for a performed effect. */
export interface ConnectorReceipt {
  readonly externalRef: string
  readonly result: ActionResult
}

/** The external system refused the request for good (validation, a declined card): retrying cannot help. */
export const Rejected = Schema.TaggedStruct("Rejected", { code: Schema.String, message: Schema.String })
/** The same key was sent before with other parameters: the system refuses to reuse it. */
export const KeyConflict = Schema.TaggedStruct("KeyConflict", { message: Schema.String })
/** The system could not be reached or answered with a server error: a retry with the same key may succeed. */
export const Unavailable = Schema.TaggedStruct("Unavailable", { message: Schema.String })
/** The call took longer than its budget; whether the effect happened is unknown (look it up by key). */
export const Timeout = Schema.TaggedStruct("Timeout", { afterMs: Schema.Number })
/** The system answered something that is not the documented response. */
export const MalformedResponse = Schema.TaggedStruct("MalformedResponse", { message: Schema.String })
/** No connector serves this action kind (a configuration error). */
export const UnknownKind = Schema.TaggedStruct("UnknownKind", { message: Schema.String })

/** Why a connector call failed. */
export const ConnectorErrorReason = Schema.Union([
  Rejected,
  KeyConflict,
  Unavailable,
  Timeout,
  MalformedResponse,
  UnknownKind,
])
/** Why a connector call failed. */
export type ConnectorErrorReason = typeof ConnectorErrorReason.Type

/** The one error of connectors; `reason` says which failure, `retryable` whether the same key may be tried again. */
export class ConnectorError extends Schema.TaggedError<ConnectorError>()("ConnectorError", {
  system: Schema.String,
  kind: Schema.String,
  key: Schema.String,
  reason: ConnectorErrorReason,
}) {
  /** Whether trying the same key again could succeed. */
  get retryable(): boolean {
    const tag = this.reason._tag
    return tag === "Unavailable" || tag === "Timeout" || tag === "MalformedResponse"
  }
  override get message(): string {
    const detail =
      "message" in this.reason ? this.reason.message : `timed out after ${this.reason.afterMs} ms`
    return `${this.system} ${this.kind} (key ${this.key}): ${this.reason._tag}: ${detail}`
  }
}

/**
 * An external system as the executor sees it. Every method is keyed: the system must perform one
 * effect per key however often it is called, answer the stored receipt for a repeated key with the
 * same parameters, and refuse a repeated key with other parameters (`KeyConflict`).
 */
export interface Connector {
  /** The system's name, the `<system>` of the kinds it serves. */
  readonly system: string
  /** The action kinds it executes (including compensation kinds). */
  readonly kinds: ReadonlyArray<string>
  /** The compensation kind that undoes each kind it executes, e.g. `payment.refund` → `payment.cancel-refund`. */
  readonly compensations?: Readonly<Record<string, string>>
  /** Performs the effect once per key. */
  readonly execute: (call: ConnectorCall) => Effect.Effect<ConnectorReceipt, ConnectorError>
  /**
   * Whether the system already performed the effect of this key (after a crash, before retrying): its
   * receipt, or undefined when the key is unknown (nothing happened, executing is safe). A key the system
   * refused fails with that refusal (`Rejected`); a key used with other parameters or for another
   * operation fails with `KeyConflict`. `kind` may be an action or a compensation kind.
   */
  readonly lookup: (call: ConnectorCall) => Effect.Effect<ConnectorReceipt | undefined, ConnectorError>
  /** Undoes an earlier effect, once per compensation key. */
  readonly compensate: (call: CompensationCall) => Effect.Effect<ConnectorReceipt, ConnectorError>
}
