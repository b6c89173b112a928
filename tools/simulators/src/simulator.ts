import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { canonicalJson } from "@mesh/contracts"

/** A JSON value as the simulators read and write it. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** A JSON object. */
export type JsonObject = { readonly [key: string]: Json }

/** One effect on the simulated world, recorded once per idempotency key. */
export interface LedgerEntry {
  readonly seq: number
  readonly system: string
  /**
   * The Idempotency-Key the effect was applied under; for an effect the world made itself (a shopper's
   * order), the id of the event that announced it.
   */
  readonly key: string
  /** What happened, e.g. `refund.created`. */
  readonly operation: string
  /** The resource the effect created or changed. */
  readonly resource: string
  readonly params: JsonObject
  readonly at: string
}

/** What a route answers: a status and a JSON body; `effect` is written to the ledger when present. */
export interface RouteResult {
  readonly status: number
  readonly body: JsonObject
  readonly effect?: Effect
}

/** An effect a route applied, for the ledger. */
export interface Effect {
  readonly operation: string
  readonly resource: string
  /**
   * The key to record it under. Agents' requests leave it out and are recorded under their
   * Idempotency-Key; admin routes that play the world (shoppers placing orders) have no such key and
   * name one here, or their effect goes unrecorded.
   */
  readonly key?: string
  /** The parameters to record, when not the request body. */
  readonly params?: JsonObject
}

/** A request as a route sees it. */
export interface RouteRequest {
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly body: JsonObject
  readonly key: string | undefined
}

/** One endpoint of a simulator; mutating routes require an Idempotency-Key and apply at most one effect per key. */
export interface Route {
  readonly method: "GET" | "POST"
  /** A path pattern with `:name` segments, e.g. `/v1/refunds/:id/cancel`. */
  readonly path: string
  readonly mutating: boolean
  readonly handle: (request: RouteRequest) => RouteResult
}

/**
 * Failures to inject into the next requests, for tests. Look-ups by key (`GET /v1/idempotency-keys/:key`)
 * are never faulted or delayed, so that planned failures hit the calls a test means.
 */
export interface FaultPlan {
  /** How many of the next non-admin requests fail. */
  readonly failNext?: number
  /** The status they fail with (default 503). */
  readonly status?: number
  /** Close the connection instead of answering `status` (the client sees a reset socket, not a response). */
  readonly drop?: boolean
  /**
   * `before`: fail without applying anything (the key is not stored, as payment APIs do for 5xx).
   * `after`: apply and store the effect, then answer with the failure (a lost response).
   */
  readonly when?: "before" | "after"
  /** Delay every non-admin request by this many milliseconds (until reset). */
  readonly delayMs?: number
  /** Only requests whose path starts with this prefix are affected. */
  readonly pathPrefix?: string
}

/** A running simulator. */
export interface SimulatorHandle {
  readonly name: string
  readonly url: string
  readonly port: number
  /** Every effect applied so far, in order. */
  ledger(): ReadonlyArray<LedgerEntry>
  /** Calls of the system's API so far (reads and writes; not `/_admin`). */
  calls(): number
  /** The simulated world's current state. */
  state(): JsonObject
  injectFaults(plan: FaultPlan): void
  /** Empties the ledger, the world, the stored keys and the faults. */
  reset(): void
  stop(): Promise<void>
}

/** The world of one simulated system: its routes over state it owns. */
export interface SimulatedSystem {
  readonly name: string
  readonly routes: ReadonlyArray<Route>
  readonly state: () => JsonObject
  /** Empties the world and cancels its background work (timers, outgoing requests) at once. */
  readonly reset: () => void
  /** Admin-only routes (seeding, inspection) beyond the common ones. */
  readonly adminRoutes?: ReadonlyArray<Route>
  /**
   * Ends the background work the system does on its own (a storefront's webhook deliveries) and
   * settles once none is left, so that a stopped simulator leaves no timer or socket behind.
   */
  readonly stop?: () => Promise<void>
}

const fingerprintOf = (method: string, path: string, body: JsonObject): string =>
  createHash("sha256")
    .update(`${method} ${path} ${canonicalJson(body)}`)
    .digest("hex")

interface StoredKey {
  readonly fingerprint: string
  readonly method: string
  readonly path: string
  /** The body the key was first used with, shown by look-ups so a client can tell its own request. */
  readonly request: JsonObject
  /** Settles with the response every request under this key gets. */
  readonly response: Promise<RouteResult>
  settled: RouteResult | undefined
}

const compile = (path: string): RegExp =>
  new RegExp(
    `^${path
      .split("/")
      .map((part) =>
        part.startsWith(":") ? `(?<${part.slice(1)}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("/")}$`,
  )

const error = (status: number, type: string, message: string): RouteResult => ({
  status,
  body: { error: { type, message } },
})

/** Builds an error answer: `{ error: { type, message } }`. */
export const failWith = error

// Answered by destroying the socket instead of writing a response (an injected `drop` fault).
const dropConnection: RouteResult = { status: 0, body: {} }

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Serves a simulated system over HTTP with payment-API idempotency: a mutating request needs an
 * `Idempotency-Key`; the same key with the same method, path and body gets the stored response
 * (even while the first is still running, so 20 parallel copies apply one effect); the same key
 * with anything else gets 409. Admin endpoints under `/_admin` read the ledger and state and
 * inject faults.
 */
export const serveSimulator = async (
  system: SimulatedSystem,
  options: { readonly port?: number; readonly host?: string } = {},
): Promise<SimulatorHandle> => {
  let ledger: Array<LedgerEntry> = []
  let calls = 0
  let keys = new Map<string, StoredKey>()
  let faults: Required<FaultPlan> = {
    failNext: 0,
    status: 503,
    drop: false,
    when: "before",
    delayMs: 0,
    pathPrefix: "",
  }
  const routes = system.routes.map((route) => ({ route, pattern: compile(route.path) }))
  const admin = (system.adminRoutes ?? []).map((route) => ({ route, pattern: compile(route.path) }))

  const injectFaults = (plan: FaultPlan): void => {
    faults = {
      failNext: plan.failNext ?? 0,
      status: plan.status ?? 503,
      drop: plan.drop ?? false,
      when: plan.when ?? "before",
      delayMs: plan.delayMs ?? faults.delayMs,
      pathPrefix: plan.pathPrefix ?? "",
    }
  }
  const reset = (): void => {
    ledger = []
    keys = new Map()
    faults = { failNext: 0, status: 503, drop: false, when: "before", delayMs: 0, pathPrefix: "" }
    system.reset()
  }

  const apply = (route: Route, request: RouteRequest): RouteResult => {
    const result = route.handle(request)
    const key = result.effect?.key ?? request.key
    if (result.effect !== undefined && key !== undefined) {
      ledger.push({
        seq: ledger.length + 1,
        system: system.name,
        key,
        operation: result.effect.operation,
        resource: result.effect.resource,
        params: result.effect.params ?? request.body,
        at: new Date().toISOString(),
      })
    }
    return result
  }

  const injectedFailure = (message: string): RouteResult =>
    faults.drop ? dropConnection : error(faults.status, "unavailable", message)

  /** Takes one injected failure for this path, if any is planned. */
  const takeFault = (path: string): "before" | "after" | undefined => {
    if (faults.failNext <= 0 || !path.startsWith(faults.pathPrefix)) return undefined
    faults = { ...faults, failNext: faults.failNext - 1 }
    return faults.when
  }

  const handleMutating = async (
    route: Route,
    method: string,
    path: string,
    request: RouteRequest,
  ): Promise<RouteResult> => {
    const key = request.key
    if (key === undefined || key === "") {
      return error(400, "missing_idempotency_key", "mutating requests need an Idempotency-Key header")
    }
    const fingerprint = fingerprintOf(method, path, request.body)
    const stored = keys.get(key)
    if (stored !== undefined) {
      if (stored.fingerprint !== fingerprint) {
        return error(
          409,
          "idempotency_conflict",
          `Idempotency-Key ${key} was used with other parameters (${stored.method} ${stored.path})`,
        )
      }
      return stored.response
    }
    const fault = takeFault(path)
    if (fault === "before") return injectedFailure("injected failure before the effect")
    // Reserve the key synchronously, before any await, so that parallel copies find it.
    let settle: (result: RouteResult) => void = () => undefined
    const entry: StoredKey = {
      fingerprint,
      method,
      path,
      request: request.body,
      response: new Promise<RouteResult>((resolve) => {
        settle = resolve
      }),
      settled: undefined,
    }
    keys.set(key, entry)
    if (faults.delayMs > 0) await sleep(faults.delayMs)
    const result = apply(route, request)
    // Payment APIs keep a key only once the request began executing: a request that failed validation
    // (400) or the server (5xx) is not stored, so that a corrected retry under the same key can run.
    if (result.status >= 500 || result.status === 400) keys.delete(key)
    entry.settled = result
    settle(result)
    if (fault === "after") return injectedFailure("injected failure after the effect")
    return result
  }

  const respond = (res: ServerResponse, result: RouteResult, replayed = false): void => {
    if (result === dropConnection) {
      res.destroy()
      return
    }
    res.writeHead(result.status, {
      "content-type": "application/json",
      ...(replayed ? { "idempotent-replayed": "true" } : {}),
    })
    res.end(JSON.stringify(result.body))
  }

  const handleAdmin = async (method: string, path: string, body: JsonObject, query: URLSearchParams) => {
    if (method === "GET" && path === "/_admin/health")
      return { status: 200, body: { ok: true, system: system.name } }
    if (method === "GET" && path === "/_admin/ledger") {
      return { status: 200, body: { entries: ledger as unknown as Json } }
    }
    if (method === "GET" && path === "/_admin/state") return { status: 200, body: system.state() }
    if (method === "POST" && path === "/_admin/faults") {
      injectFaults(body as FaultPlan)
      return { status: 200, body: { ok: true } }
    }
    if (method === "POST" && path === "/_admin/reset") {
      reset()
      return { status: 200, body: { ok: true } }
    }
    for (const { route, pattern } of admin) {
      const match = route.method === method ? pattern.exec(path) : null
      if (match) return apply(route, { params: { ...match.groups }, query, body, key: undefined })
    }
    return error(404, "not_found", `no admin endpoint ${method} ${path}`)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://simulator")
    const method = req.method ?? "GET"
    const raw = await readBody(req)
    let body: JsonObject = {}
    if (raw.trim() !== "") {
      try {
        const parsed: unknown = JSON.parse(raw)
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
          return respond(res, error(400, "invalid_request", "the body must be a JSON object"))
        }
        body = parsed as JsonObject
      } catch {
        return respond(res, error(400, "invalid_request", "the body is not JSON"))
      }
    }
    if (url.pathname.startsWith("/_admin/"))
      return respond(res, await handleAdmin(method, url.pathname, body, url.searchParams))
    // Every call of the system's API, reads included: a sandbox replay proves it made none.
    calls += 1

    const key = req.headers["idempotency-key"]
    const request = (params: Record<string, string>): RouteRequest => ({
      params,
      query: url.searchParams,
      body,
      key: typeof key === "string" ? key : undefined,
    })

    if (method === "GET" && url.pathname.startsWith("/v1/idempotency-keys/")) {
      // Look up by key: what a request under this key answered, for clients recovering after a crash.
      const stored = keys.get(decodeURIComponent(url.pathname.slice("/v1/idempotency-keys/".length)))
      if (stored === undefined || stored.settled === undefined) {
        return respond(res, error(404, "not_found", "no completed request under this key"))
      }
      return respond(res, {
        status: 200,
        body: {
          status: stored.settled.status,
          method: stored.method,
          path: stored.path,
          request: stored.request,
          response: stored.settled.body,
        },
      })
    }

    for (const { route, pattern } of routes) {
      if (route.method !== method) continue
      const match = pattern.exec(url.pathname)
      if (!match) continue
      const routeRequest = request({ ...match.groups })
      if (!route.mutating) {
        if (faults.delayMs > 0) await sleep(faults.delayMs)
        if (takeFault(url.pathname) !== undefined) return respond(res, injectedFailure("injected failure"))
        return respond(res, route.handle(routeRequest))
      }
      const replayed = routeRequest.key !== undefined && keys.has(routeRequest.key)
      return respond(res, await handleMutating(route, method, url.pathname, routeRequest), replayed)
    }
    return respond(res, error(404, "not_found", `no endpoint ${method} ${url.pathname}`))
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((cause: unknown) => {
      if (!res.headersSent) respond(res, error(500, "internal", String(cause)))
      else res.destroy()
    })
  })
  // Long enough for clients to reuse a connection: Node's fetch takes a second off the server's
  // advertised keep-alive, so one second meant a new connection for every call. stop() closes the
  // idle sockets itself.
  server.keepAliveTimeout = 5_000
  const host = options.host ?? "127.0.0.1"
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    name: system.name,
    url: `http://${host}:${port}`,
    port,
    ledger: () => [...ledger],
    calls: () => calls,
    state: system.state,
    injectFaults,
    reset,
    stop: async () => {
      await Promise.all([
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
        system.stop?.(),
      ])
    },
  }
}

/** Reads a required string field of a body, or undefined. */
export const stringField = (body: JsonObject, name: string): string | undefined => {
  const value = body[name]
  return typeof value === "string" && value !== "" ? value : undefined
}

/** Reads a required integer field of a body, or undefined. */
export const intField = (body: JsonObject, name: string): number | undefined => {
  const value = body[name]
  return typeof value === "number" && Number.isInteger(value) ? value : undefined
}

/** A 400 answer naming the fields a request lacks. */
export const invalid = (message: string): RouteResult => error(400, "invalid_request", message)

/** A fresh id for a resource, e.g. `re_000042` (sequential per system, so ledgers read easily). */
export const idMinter = (prefix: string) => {
  let next = 1
  return {
    mint: (): string => `${prefix}_${String(next++).padStart(6, "0")}`,
    reset: (): void => {
      next = 1
    },
  }
}
