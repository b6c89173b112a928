import type { NatsHandles } from "@mesh/eventlog"
import { DeliverPolicy } from "@nats-io/jetstream"
import { Effect } from "effect"
import { type RegisterError, registerUnavailable } from "./registerError.ts"

/** One stored message: its stream sequence, when the server stored it (epoch ms) and its bytes. */
export interface StoredMessage {
  readonly sequence: number
  readonly storedAt: number
  readonly subject: string
  readonly data: Uint8Array
}

/**
 * Every message of `stream` under `filter` stored so far, oldest first (from `fromSequence` on,
 * when given), read through an ordered consumer (which leaves nothing behind on the server): an
 * instance's history, a namespace's conflicts.
 */
export const readStoredMessages = (
  nats: NatsHandles,
  stream: string,
  filter: string,
  operation: string,
  fromSequence?: number,
): Effect.Effect<ReadonlyArray<StoredMessage>, RegisterError> =>
  Effect.tryPromise({
    try: async () => {
      const consumer = await nats.js.consumers.get(
        stream,
        fromSequence === undefined
          ? { filter_subjects: filter, deliver_policy: DeliverPolicy.All }
          : {
              filter_subjects: filter,
              deliver_policy: DeliverPolicy.StartSequence,
              opt_start_seq: fromSequence,
            },
      )
      const pending = (await consumer.info(true)).num_pending
      const out: Array<StoredMessage> = []
      if (pending === 0) return out
      const messages = await consumer.consume({ max_messages: Math.min(pending, 512) })
      try {
        for await (const m of messages) {
          out.push({
            sequence: m.seq,
            storedAt: Math.floor(Number(m.info.timestampNanos) / 1_000_000),
            subject: m.subject,
            data: m.data,
          })
          if (m.info.pending === 0) break
        }
      } finally {
        void messages.close()
      }
      return out
    },
    catch: (e) => registerUnavailable(operation, e),
  })
