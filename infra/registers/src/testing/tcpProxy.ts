import { createConnection, createServer, type Server, type Socket } from "node:net"

/** A TCP link between two servers that a test cuts and heals: the network between two sites. */
export interface TcpProxy {
  /** The port clients dial instead of the target's. */
  readonly port: number
  /** Whether the link carries traffic. */
  readonly linked: boolean
  /** Connections carried since the proxy started (a reconnect after a heal adds one). */
  readonly connections: number
  /** Resets every open connection and refuses new ones until {@link heal}. */
  cut(): void
  /** Accepts connections again; the dialling side reconnects on its own schedule. */
  heal(): void
  /** Closes the listener and every connection. */
  close(): Promise<void>
}

/**
 * Starts a proxy on 127.0.0.1 forwarding to `target`. A cut resets both halves of every carried
 * connection (each side sees the link drop at once, as after a router restart) and then resets
 * each new one as it arrives, so the dialler keeps retrying until the heal.
 */
export const startTcpProxy = async (target: { readonly port: number; readonly host?: string }) => {
  const open = new Set<Socket>()
  let linked = true
  let connections = 0
  const server: Server = createServer((inbound) => {
    if (!linked) {
      inbound.resetAndDestroy()
      return
    }
    connections++
    const outbound = createConnection({ port: target.port, host: target.host ?? "127.0.0.1" })
    // No Nagle on either half: the proxy must not add its own delay to the latencies measured through it.
    inbound.setNoDelay(true)
    outbound.setNoDelay(true)
    open.add(inbound).add(outbound)
    const drop = () => {
      open.delete(inbound)
      open.delete(outbound)
      if (!inbound.destroyed) inbound.resetAndDestroy()
      if (!outbound.destroyed) outbound.resetAndDestroy()
    }
    inbound.on("error", drop).on("close", drop)
    outbound.on("error", drop).on("close", drop)
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("tcp proxy: no port from the OS")
  const resetAll = () => {
    for (const socket of [...open]) if (!socket.destroyed) socket.resetAndDestroy()
    open.clear()
  }
  return {
    port: address.port,
    get linked() {
      return linked
    },
    get connections() {
      return connections
    },
    cut() {
      linked = false
      resetAll()
    },
    heal() {
      linked = true
    },
    close: () =>
      new Promise<void>((resolve) => {
        linked = false
        resetAll()
        server.close(() => resolve())
      }),
  } satisfies TcpProxy
}
