import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findRepoRoot, NatsUnavailable, projectDataDir, resolveNats, scopedNats } from "./localStack.ts"
import { uniqueNamespace } from "./testing.ts"
import { useNatsServer } from "./vitest.ts"

const nats = useNatsServer()

let dataRoot = ""
beforeAll(async () => {
  dataRoot = await mkdtemp(join(tmpdir(), "mesh-localstack-spec-"))
})
afterAll(async () => {
  await rm(dataRoot, { recursive: true, force: true })
})

const roundTrip = async (url: string): Promise<string | undefined> => {
  const nc = await connect({ servers: url })
  try {
    const ns = uniqueNamespace()
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: ns, subjects: [`${ns}.>`], storage: StorageType.File })
    const ack = await jetstream(nc).publish(`${ns}.ping`, "pong")
    return (await jsm.streams.getMessage(ns, { seq: ack.seq }))?.string()
  } finally {
    await nc.close()
  }
}

describe("resolveNats", () => {
  it("uses MESH_NATS_URL when set and never stops that server", async () => {
    const resolved = await resolveNats({ env: { MESH_NATS_URL: nats.url }, dataDir: join(dataRoot, "env") })
    expect(resolved.source).toBe("env")
    expect(resolved.url).toBe(nats.url)
    expect(resolved.server).toBeUndefined()
    await resolved.stop()
    expect(nats.server.running).toBe(true)
    expect(await roundTrip(nats.url)).toBe("pong")
    expect(existsSync(join(dataRoot, "env"))).toBe(false)
  })

  it("starts a private server with its store under <dataDir>/nats and stops only that one", async () => {
    const dataDir = join(dataRoot, "private")
    const resolved = await resolveNats({ env: {}, dataDir })
    try {
      expect(resolved.source).toBe("private")
      expect(resolved.server?.storeDir).toBe(join(dataDir, "nats"))
      expect(resolved.url).not.toBe(nats.url)
      expect(await roundTrip(resolved.url)).toBe("pong")
    } finally {
      await resolved.stop()
    }
    expect(resolved.server?.running).toBe(false)
    expect(existsSync(join(dataDir, "nats", "jetstream"))).toBe(true)
    expect(nats.server.running).toBe(true)
  })

  it("says how to get a server when there is no MESH_NATS_URL, binary or Docker", async () => {
    const failure = resolveNats({ env: {}, binary: "nats-server-that-does-not-exist", allowContainer: false })
    await expect(failure).rejects.toBeInstanceOf(NatsUnavailable)
    await expect(failure).rejects.toThrow(/MESH_NATS_URL.*nats-server >= 2\.10\.23.*trixie.*Docker/s)
  })

  it("releases a private server when its Effect scope closes", async () => {
    const server = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const resolved = yield* scopedNats({ env: {} })
          expect(resolved.source).toBe("private")
          expect(resolved.server?.running).toBe(true)
          return resolved.server
        }),
      ),
    )
    expect(server?.running).toBe(false)
  })
})

describe("projectDataDir", () => {
  it("is <repo root>/.data unless MESH_DATA_DIR overrides it", () => {
    const root = findRepoRoot()
    expect(existsSync(join(root, "pnpm-workspace.yaml"))).toBe(true)
    expect(projectDataDir({ env: {} })).toBe(join(root, ".data"))
    expect(projectDataDir({ env: { MESH_DATA_DIR: "/srv/mesh" } })).toBe("/srv/mesh")
  })
})
