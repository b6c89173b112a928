import { createServer, type Server } from "node:net"

/**
 * The quiet lane: at most one holder at a time across every process on this machine. Specs whose
 * assertions time recoveries (servers SIGKILLed and restarted, agents killed mid-day) hold it, so
 * that two of them never run at once and each is timed against at most one steady neighbour.
 *
 * The lane is a listening socket, not a lock file: the kernel releases it when its holder exits,
 * however it exits, so a worker killed mid-spec never leaves the lane taken. On Linux the socket
 * lives in the abstract namespace (no file, no port that another program could be using); elsewhere
 * it is a loopback TCP port from 47391 up, one per lane name.
 */
export interface QuietLane {
  readonly release: () => Promise<void>
}

/** A lane's TCP port where there is no abstract namespace: one of a thousand from 47391, by its name. */
const portOf = (name: string): number => {
  let hash = 0
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return 47_391 + (hash % 1_000)
}

const address = (
  name: string,
): { readonly path: string } | { readonly port: number; readonly host: string } =>
  process.platform === "linux"
    ? { path: `\0mesh-quiet-lane-${name}` }
    : { port: portOf(name), host: "127.0.0.1" }

const tryListen = (name: string): Promise<Server | undefined> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(undefined)
      else
        reject(new Error(`the quiet lane '${name}' could not be taken: ${error.message}`, { cause: error }))
    })
    server.listen({ ...address(name), exclusive: true }, () => {
      // A held lane must not keep a finished process alive.
      server.unref()
      resolve(server)
    })
  })

/**
 * Waits until the lane named `name` is free and takes it. Polls every `pollMs` (a holder gives no
 * signal when it lets go; a quarter second is nothing against specs that run for minutes).
 */
export const takeQuietLane = async (
  name = "timed",
  options: { readonly pollMs?: number; readonly timeoutMs?: number } = {},
): Promise<QuietLane> => {
  const pollMs = options.pollMs ?? 250
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000)
  for (;;) {
    const server = await tryListen(name)
    if (server) return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) }
    if (Date.now() > deadline)
      throw new Error(`the quiet lane '${name}' stayed taken for ${options.timeoutMs ?? 30 * 60_000} ms`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}
