import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterEach, describe, expect, it } from "vitest"
import {
  assertReplicatedCapable,
  isReplicatedCapable,
  type NatsServerHandle,
  NatsServerNotFound,
  NatsServerStartFailed,
  natsServerVersion,
  startNatsCluster,
  startNatsServer,
} from "./natsServer.ts"
import { uniqueNamespace } from "./testing.ts"

const installed = await natsServerVersion()

const started: Array<{ stop(): Promise<void> }> = []
const connections: Array<NatsConnection> = []
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()))
  await Promise.all(started.splice(0).map((s) => s.stop()))
})

const start = async (options: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsServerHandle> => {
  const server = await startNatsServer(options)
  started.push(server)
  return server
}

const open = async (servers: string | Array<string>) => {
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  connections.push(nc)
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) }
}

describe("startNatsServer", () => {
  it("starts on a free port on 127.0.0.1 with working JetStream", async () => {
    const server = await start()
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`)
    expect(server.port).not.toBe(4222)
    expect(server.running).toBe(true)
    expect(server.version).toEqual(installed)

    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { host: string }
    expect(varz.host).toBe("127.0.0.1")

    const ns = uniqueNamespace()
    const { js, jsm } = await open(server.url)
    await jsm.streams.add({ name: ns, subjects: [`${ns}.>`], storage: StorageType.File })
    const ack = await js.publish(`${ns}.hello`, "world")
    const stored = await jsm.streams.getMessage(ns, { seq: ack.seq })
    expect(stored?.subject).toBe(`${ns}.hello`)
    expect(stored?.string()).toBe("world")
  })

  it("keeps JetStream data across kill -9 and restart on the same port and store", async () => {
    const server = await start()
    const ns = uniqueNamespace()
    const first = await open(server.url)
    await first.jsm.streams.add({ name: ns, subjects: [`${ns}.>`], storage: StorageType.File })
    for (let i = 1; i <= 5; i++) await first.js.publish(`${ns}.e`, `event-${i}`)
    const oldPid = server.pid

    await server.kill("SIGKILL")
    expect(server.running).toBe(false)
    expect(server.pid).toBeUndefined()
    await server.restart()
    expect(server.running).toBe(true)
    expect(server.pid).not.toBe(oldPid)

    const { jsm } = await open(server.url)
    const info = await jsm.streams.info(ns)
    expect(info.state.messages).toBe(5)
    expect((await jsm.streams.getMessage(ns, { seq: 5 }))?.string()).toBe("event-5")
  })

  it("removes its temp store on stop but keeps a store the caller supplied", async () => {
    const own = await startNatsServer()
    expect(existsSync(own.storeDir)).toBe(true)
    await own.stop()
    await own.stop() // idempotent
    expect(own.running).toBe(false)
    expect(existsSync(own.storeDir)).toBe(false)

    const dir = await mkdtemp(join(tmpdir(), "mesh-stack-spec-"))
    try {
      const supplied = await startNatsServer({ storeDir: join(dir, "nats") })
      await supplied.stop()
      expect(existsSync(join(dir, "nats", "jetstream"))).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("refuses a second server on a store dir a live server holds, not one a dead server left", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mesh-stack-spec-"))
    try {
      const storeDir = join(dir, "nats")
      const first = await start({ storeDir })
      const second = startNatsServer({ storeDir })
      await expect(second).rejects.toBeInstanceOf(NatsServerStartFailed)
      await expect(second).rejects.toThrow(`set MESH_NATS_URL=${first.url}`)

      await first.kill("SIGKILL")
      const third = await start({ storeDir })
      expect(third.running).toBe(true)
      await third.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("fails clearly when the binary does not exist", async () => {
    const failure = startNatsServer({ binary: "nats-server-that-does-not-exist" })
    await expect(failure).rejects.toBeInstanceOf(NatsServerNotFound)
    await expect(failure).rejects.toThrow(/nats-server-that-does-not-exist.*MESH_NATS_URL.*>= 2\.10\.23/s)
  })

  it("fails with the server's own log when it cannot start", async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    const address = blocker.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const failure = startNatsServer({ port })
      await expect(failure).rejects.toBeInstanceOf(NatsServerStartFailed)
      await expect(failure).rejects.toThrow(/address already in use/)
    } finally {
      blocker.close()
    }
  })
})

/** Whether a pid names a live (not zombie) process. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

const waitUntil = async (check: () => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

describe("servers never outlive the process that started them", () => {
  // A child process starts a server and then either exits without stopping it or is SIGKILLed.
  const runOwner = async (ending: "exit" | "sigkill"): Promise<{ pid: number; storeDir: string }> => {
    const dir = await mkdtemp(join(tmpdir(), "mesh-owner-"))
    const script = join(dir, "owner.ts")
    await writeFile(
      script,
      `import { startNatsServer } from ${JSON.stringify(join(import.meta.dirname, "natsServer.ts"))}
const server = await startNatsServer()
console.log(JSON.stringify({ pid: server.pid, storeDir: server.storeDir }))
${ending === "exit" ? "process.exit(0)" : "setInterval(() => {}, 1000)"}
`,
    )
    const owner = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        owner.stdout.setEncoding("utf8").once("data", (d: string) => resolve(d))
        owner.once("exit", (code) => reject(new Error(`owner exited early with ${code}`)))
      })
      const started = JSON.parse(line) as { pid: number; storeDir: string }
      if (ending === "sigkill") owner.kill("SIGKILL")
      return started
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  it.each(["exit", "sigkill"] as const)(
    "on %s of the owner the server dies and its temp store goes",
    async (ending) => {
      const { pid, storeDir } = await runOwner(ending)
      expect(await waitUntil(() => !alive(pid), 5_000)).toBe(true)
      expect(await waitUntil(() => !existsSync(storeDir), 5_000)).toBe(true)
    },
  )
})

describe("nats-server version", () => {
  it("reads the installed version and judges it for replicated use", () => {
    expect(installed.text).toMatch(/^\d+\.\d+\.\d+$/)
    if (isReplicatedCapable(installed)) expect(() => assertReplicatedCapable(installed)).not.toThrow()
    else expect(() => assertReplicatedCapable(installed)).toThrow(/>= 2\.10\.23/)
  })
})

// Replicated streams are only trusted from 2.10.23 (see shared/notes/nats-server.md); .ci/run installs it.
describe.skipIf(!isReplicatedCapable(installed))(
  `3-node cluster (runs when nats-server >= 2.10.23; found ${installed.text})`,
  () => {
    it("keeps an R3 stream writable with one node down and lets the node rejoin", async () => {
      const cluster = await startNatsCluster({ size: 3 })
      started.push(cluster)
      expect(cluster.nodes).toHaveLength(3)

      const ns = uniqueNamespace()
      const { js, jsm } = await open([...cluster.urls])
      await jsm.streams.add({ name: ns, subjects: [`${ns}.>`], storage: StorageType.File, num_replicas: 3 })
      await js.publish(`${ns}.e`, "before")

      const victim = cluster.nodes[2]!
      await victim.kill("SIGKILL")
      // If the victim led the stream, the other two elect a new leader (several seconds); the msgID
      // makes the retries idempotent.
      let ack: { seq: number } | undefined
      for (let attempt = 0; attempt < 100 && ack === undefined; attempt++) {
        ack = await js
          .publish(`${ns}.e`, "during", { msgID: `${ns}-during`, timeout: 1_000 })
          .catch(() => undefined)
        if (ack === undefined) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(ack?.seq).toBe(2)

      await victim.restart()
      await victim.waitHealthy(20_000)
      // The leader reports the rejoined replica current once it has caught up: within seconds on a
      // quiet machine, past 20 s beside the other integration specs (seen in CI), so the bound is a
      // minute.
      let info = await jsm.streams.info(ns)
      const deadline = performance.now() + 60_000
      while (!info.cluster?.replicas?.every((r) => r.current && !r.offline) && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        info = await jsm.streams.info(ns)
      }
      expect(info.state.messages).toBe(2)
      expect(info.cluster?.replicas).toHaveLength(2)
      expect(info.cluster?.replicas?.every((r) => r.current && !r.offline)).toBe(true)
      // A cluster that cannot place its streams is started once more: up to twice 45 s.
    }, 150_000)
  },
)
