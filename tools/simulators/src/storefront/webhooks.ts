import { createHmac } from "node:crypto"
import { Agent as HttpAgent, request as httpRequest } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import { invalid, type Json, type JsonObject, type Route, type RouteResult } from "../simulator.ts"

/** How long a receiver has to answer one delivery attempt before it counts as failed. */
export const deliveryTimeoutMs = 5_000

/** What goes wrong with webhook deliveries, as a storefront's own faults; the defaults are a healthy storefront. */
export type WebhookFaults = {
  /** Chance that an event is delivered a second, independent time (a re-send after a lost ack). */
  readonly duplicateRate: number
  /** Chance that an event is never sent to a subscription: only the reconciliation listing has it. */
  readonly dropRate: number
  /** Each delivery waits a random 0..maxDelayMs before its first attempt, so events arrive out of order. */
  readonly maxDelayMs: number
  /** The wait before attempt 2; it doubles for each later attempt, with jitter. */
  readonly retryBaseMs: number
  /** Attempts before a delivery is given up. */
  readonly maxAttempts: number
  /** Seeds every random choice, so that a run can be played again. */
  readonly seed: number
}

/** A healthy storefront: no duplicates, drops or delays; 8 attempts 200 ms, 400 ms, … apart. */
export const defaultWebhookFaults: WebhookFaults = {
  duplicateRate: 0,
  dropRate: 0,
  maxDelayMs: 0,
  retryBaseMs: 200,
  maxAttempts: 8,
  seed: 1,
}

/** One event to announce: its id, its place in the feed, its topic and the exact JSON it is sent as. */
export interface Announcement {
  readonly id: string
  readonly seq: number
  readonly topic: string
  readonly body: string
}

/** One delivery attempt, as `GET /_admin/webhooks/deliveries` lists it. */
export type DeliveryAttempt = {
  readonly subscription: string
  readonly eventId: string
  readonly attempt: number
  /** When the attempt was sent. */
  readonly at: string
} & ({ readonly status: number } | { readonly error: string })

type Outcome = { readonly status: number } | { readonly error: string }

interface Subscription {
  readonly id: string
  /** The n of `wh_<n>`, which seeds this subscription's random choices. */
  readonly n: number
  readonly url: URL
  readonly secret: string
}

/** The `x-storefront-signature` of a body: `sha256=` and the hex HMAC-SHA256 of its bytes under the secret. */
export const signatureOf = (body: string | Buffer, secret: string): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

/**
 * A 32-bit hash of a few integers, to seed one delivery's generator: each delivery draws from its
 * own stream, so that its choices depend on the seed and on which delivery it is, not on the order
 * in which concurrent deliveries happen to draw.
 */
const mix = (...parts: ReadonlyArray<number>): number => {
  let h = 0x9e3779b9
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}

/** Mulberry32: a small seeded generator of floats in [0, 1). */
const generator = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * The connections deliveries go through: kept alive and reused, at most 16 at once per receiver, as
 * a storefront's webhook sender (or the ingress in front of the agent) keeps them. A connection per
 * attempt made the receiver accept a new one for every delivery: an agent busy with its day accepts
 * about one per turn of its event loop, and on the shop's day its deliveries, messages and health
 * probes alike waited 4-6 s in its accept queue, though it answered each in milliseconds once read.
 */
interface Connections {
  readonly http: HttpAgent
  readonly https: HttpsAgent
}

const maxConnectionsPerReceiver = 16

const openConnections = (): Connections => ({
  http: new HttpAgent({ keepAlive: true, maxSockets: maxConnectionsPerReceiver }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: maxConnectionsPerReceiver }),
})

/** Closes every connection, idle or busy; a request still on one ends with an error. */
const closeConnections = (connections: Connections): void => {
  connections.http.destroy()
  connections.https.destroy()
}

/**
 * Posts one body through the dispatcher's connections and settles with the answer's status or the
 * error; it never rejects.
 */
const post = (
  url: URL,
  body: Buffer,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
  connections: Connections,
): Promise<Outcome> =>
  new Promise((resolve) => {
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const finish = (outcome: Outcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(outcome)
    }
    const https = url.protocol === "https:"
    const request = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(body.length) },
        agent: https ? connections.https : connections.http,
        signal,
      },
      (response) => {
        const status = response.statusCode ?? 0
        // The answer counts once it has been read to its end: the exchange is then over.
        response.on("end", () => finish({ status }))
        response.on("error", (cause) => finish({ error: cause.message }))
        response.on("close", () =>
          finish(response.complete ? { status } : { error: "the answer was cut off" }),
        )
        response.resume()
      },
    )
    // The receiver's time runs from when the attempt has a connection, not while it waits for one
    // of the sender's (a burst beyond its connections waits its turn, as a storefront's would).
    request.once("socket", () => {
      if (settled) return
      timer = setTimeout(
        () => request.destroy(new Error(`no answer within ${deliveryTimeoutMs} ms`)),
        deliveryTimeoutMs,
      )
    })
    // Cancelled (a reset, a stop): settled at once, also while it still waits for a connection.
    signal.addEventListener("abort", () => finish({ error: "cancelled" }), { once: true })
    request.on("error", (cause) => finish({ error: cause.message }))
    request.end(body)
  })

const rate = (body: JsonObject, name: string, fallback: number): number | string => {
  const value = body[name]
  if (value === undefined) return fallback
  return typeof value === "number" && value >= 0 && value <= 1 ? value : `${name} must be a number in 0..1`
}

const count = (body: JsonObject, name: string, fallback: number, min: number): number | string => {
  const value = body[name]
  if (value === undefined) return fallback
  return typeof value === "number" && Number.isInteger(value) && value >= min
    ? value
    : `${name} must be an integer >= ${min}`
}

/** Reads a fault plan; fields left out take their healthy defaults. */
const parseFaults = (body: JsonObject): WebhookFaults | string => {
  const duplicateRate = rate(body, "duplicateRate", defaultWebhookFaults.duplicateRate)
  const dropRate = rate(body, "dropRate", defaultWebhookFaults.dropRate)
  const maxDelayMs = count(body, "maxDelayMs", defaultWebhookFaults.maxDelayMs, 0)
  const retryBaseMs = count(body, "retryBaseMs", defaultWebhookFaults.retryBaseMs, 0)
  const maxAttempts = count(body, "maxAttempts", defaultWebhookFaults.maxAttempts, 1)
  const seedValue = body.seed
  const seed =
    seedValue === undefined
      ? defaultWebhookFaults.seed
      : typeof seedValue === "number" && Number.isInteger(seedValue)
        ? seedValue
        : "seed must be an integer"
  if (typeof duplicateRate === "string") return duplicateRate
  if (typeof dropRate === "string") return dropRate
  if (typeof maxDelayMs === "string") return maxDelayMs
  if (typeof retryBaseMs === "string") return retryBaseMs
  if (typeof maxAttempts === "string") return maxAttempts
  if (typeof seed === "string") return seed
  return { duplicateRate, dropRate, maxDelayMs, retryBaseMs, maxAttempts, seed }
}

/**
 * Webhook subscriptions and their deliveries, as a storefront makes them: signed POSTs, retried
 * with exponential backoff on anything but a 2xx, concurrent (so out of order), and under faults
 * duplicated, dropped or delayed. Its timers and requests are its own: reset() cancels them at once
 * and stop() also waits until the cancelled requests have closed.
 */
export const webhookDispatcher = () => {
  let subscriptions: Array<Subscription> = []
  let attempts: Array<DeliveryAttempt> = []
  let faults = defaultWebhookFaults
  let stopped = false
  // Bumped by reset and stop: work begun under an older generation finds it changed and ends.
  let generation = 0
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Map<AbortController, Promise<void>>()
  // Deliveries neither finished nor given up: waiting on a timer or on an answer.
  let pending = 0
  let connections = openConnections()

  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, ms)
    timers.add(timer)
  }

  const cancelAll = (): void => {
    generation += 1
    pending = 0
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    for (const controller of inFlight.keys()) controller.abort()
    // Idle kept-alive connections too, so that a receiver closing its server waits on none of ours.
    closeConnections(connections)
    connections = openConnections()
  }

  /** Delivers one copy of an event to one subscription, from attempt 1 until a 2xx or the last attempt. */
  const deliver = (subscription: Subscription, event: Announcement, plan: WebhookFaults, copy: number) => {
    const random = generator(mix(plan.seed, subscription.n, event.seq, copy))
    const body = Buffer.from(event.body, "utf8")
    const signature = signatureOf(body, subscription.secret)
    const started = generation
    pending += 1
    const attempt = (n: number): void => {
      const controller = new AbortController()
      const at = new Date().toISOString()
      const headers = {
        "content-type": "application/json",
        "x-storefront-event-id": event.id,
        "x-storefront-topic": event.topic,
        "x-storefront-delivery-attempt": String(n),
        "x-storefront-signature": signature,
      }
      const done = post(subscription.url, body, headers, controller.signal, connections).then((outcome) => {
        inFlight.delete(controller)
        if (generation !== started) return
        attempts.push({ subscription: subscription.id, eventId: event.id, attempt: n, at, ...outcome })
        const delivered = "status" in outcome && outcome.status >= 200 && outcome.status < 300
        if (delivered || n >= plan.maxAttempts) {
          // A given-up event is not lost to the shop: the reconciliation listing still has it.
          pending -= 1
          return
        }
        const backoff = plan.retryBaseMs * 2 ** (n - 1) * (0.5 + random())
        later(Math.round(backoff), () => attempt(n + 1))
      })
      inFlight.set(controller, done)
    }
    later(Math.floor(random() * (plan.maxDelayMs + 1)), () => attempt(1))
  }

  const routes: ReadonlyArray<Route> = [
    {
      method: "POST",
      path: "/_admin/webhooks",
      mutating: false,
      handle: ({ body }): RouteResult => {
        const url = typeof body.url === "string" && URL.canParse(body.url) ? new URL(body.url) : undefined
        if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
          return invalid("url must be an http(s) URL")
        }
        if (typeof body.secret !== "string" || body.secret === "") {
          return invalid("secret must be a non-empty string")
        }
        const n = subscriptions.length + 1
        const subscription: Subscription = { id: `wh_${n}`, n, url, secret: body.secret }
        subscriptions = [...subscriptions, subscription]
        return { status: 200, body: { id: subscription.id } }
      },
    },
    {
      method: "GET",
      path: "/_admin/webhooks/deliveries",
      mutating: false,
      handle: () => ({ status: 200, body: { deliveries: attempts as ReadonlyArray<Json>, pending } }),
    },
    {
      method: "POST",
      path: "/_admin/webhook-faults",
      mutating: false,
      handle: ({ body }): RouteResult => {
        const parsed = parseFaults(body)
        if (typeof parsed === "string") return invalid(parsed)
        faults = parsed
        return { status: 200, body: faults }
      },
    },
  ]

  return {
    routes,
    /**
     * Sends an event to every subscription made before it, under the faults in force now. The
     * subscription list is read here, so a subscription made later never gets it.
     */
    announce: (event: Announcement): void => {
      if (stopped) return
      const plan = faults
      for (const subscription of subscriptions) {
        const random = generator(mix(plan.seed, subscription.n, event.seq, 0))
        if (random() < plan.dropRate) continue
        const copies = random() < plan.duplicateRate ? 2 : 1
        for (let copy = 1; copy <= copies; copy++) deliver(subscription, event, plan, copy)
      }
    },
    /** Forgets subscriptions, attempts and faults, and cancels every pending delivery. */
    reset: (): void => {
      cancelAll()
      subscriptions = []
      attempts = []
      faults = defaultWebhookFaults
    },
    /** Cancels every pending delivery for good and settles once their requests have closed. */
    stop: async (): Promise<void> => {
      stopped = true
      cancelAll()
      await Promise.all(inFlight.values())
      closeConnections(connections)
    },
  }
}
