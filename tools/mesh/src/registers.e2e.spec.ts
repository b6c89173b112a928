import { customerProfile, inventoryOnHand, listingStatus, Subjects, shopRegisters } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { makeRegisters, type RegistersOptions, type RegistersShape } from "@mesh/registers"
import { freePorts, type NatsServerHandle, startNatsServer, uniqueNamespace } from "@mesh/stack"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { linesOf, type MeshRun, type RunningMesh, runMesh, startMesh } from "./testing/runMesh.ts"

let server: NatsServerHandle
let nats: NatsHandles
const namespace = uniqueNamespace("regs")
let procurement: RegistersShape
let support: RegistersShape

const open = (options: Omit<RegistersOptions, "namespace">) =>
  Effect.runPromise(makeRegisters(nats, { namespace, ...options }))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until the registers stream, which sources the bucket, holds `count` changes of an instance. */
const historyHolds = async (register: string, id: string, count: number) => {
  for (let i = 0; i < 100; i++) {
    if ((await Effect.runPromise(procurement.history(register, id))).length >= count) return
    await sleep(100)
  }
  throw new Error(`the registers stream never held ${count} changes of ${register}/${id}`)
}

// The story the commands read back: stock counted by two agents, a profile edited from a stale
// view (its two values wait side by side), and a SKU counted at two sites cut off from each other.
beforeAll(async () => {
  server = await startNatsServer()
  nats = await openNats(server.url)
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  procurement = await open({ agent: "procurement", instance: "p1" })
  support = await open({ agent: "customer-ops", instance: "s1" })
  const write = Effect.runPromise

  await write(
    procurement.write(
      inventoryOnHand,
      "SKU-1",
      { _tag: "Add", amount: 12 },
      { correlationId: "restock-1", causationId: "evt-1" },
    ),
  )
  await write(support.write(inventoryOnHand, "SKU-1", { _tag: "Add", amount: -2 }))

  await write(support.write(customerProfile, "C-9", { _tag: "Set", value: { email: "old@example.com" } }))
  const staleView = await write(procurement.read(customerProfile, "C-9"))
  await write(support.write(customerProfile, "C-9", { _tag: "Set", value: { email: "new@example.com" } }))
  await write(
    procurement.write(
      customerProfile,
      "C-9",
      { _tag: "Set", value: { email: "old@example.com", shippingAddress: "1 Main St" } },
      { observed: staleView.snapshot.context },
    ),
  )

  const cloud = await open({ agent: "procurement", site: "cloud", instance: "c" })
  const edge = await open({ agent: "procurement", site: "edge", instance: "e" })
  await write(cloud.write(inventoryOnHand, "SKU-C", { _tag: "Add", amount: -1 }))
  await write(edge.write(inventoryOnHand, "SKU-C", { _tag: "Add", amount: -2 }))

  await historyHolds("inventory-on-hand", "SKU-1", 2)
  await historyHolds("customer-profile", "C-9", 3)
  await historyHolds("inventory-on-hand", "SKU-C", 2)
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
})

/** Runs `mesh registers <args>` against this file's server and namespace. */
const registers = (...args: ReadonlyArray<string>) =>
  runMesh(["registers", ...args, "--nats-url", server.url, "--namespace", namespace])

/** Every line of stdout parsed as JSON: anything else there fails the test. */
const jsonLines = async (...args: ReadonlyArray<string>) => {
  const run = await registers(...args, "--json")
  expect(run.code, run.stderr).toBe(0)
  return linesOf(run.stdout).map((line) => JSON.parse(line))
}

/** A refusal: one line on stderr naming what is wrong, and the exit code. */
const expectRefusal = (run: MeshRun, code: number, message: string) => {
  expect(run.code, run.stderr).toBe(code)
  expect(linesOf(run.stderr)).toEqual([`mesh: ${message}`])
  expect(run.stdout).toBe("")
}

const iso = "\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z"
const uuid = "[0-9a-f-]{36}"

describe("mesh registers list", () => {
  it("prints each declared register with its kind, owner and writers, and the instances that have values", async () => {
    const run = await registers()
    expect(run.code, run.stderr).toBe(0)
    const lines = linesOf(run.stdout)
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^inventory-on-hand +counter +owner procurement +writers procurement,customer-ops {2}2 instances$/,
      ),
    )
    expect(lines).toContainEqual(`  one per SKU: ${inventoryOnHand.summary}`)
    expect(lines).toContainEqual("  SKU-1  sites main")
    expect(lines).toContainEqual("  SKU-C  sites cloud,edge")
    expect(lines).toContainEqual(
      expect.stringMatching(/^listing-status +custom:listing-status +owner content-ops .* {2}0 instances$/),
    )
    expect(lines.at(-1)).toBe(`6 registers declared; 3 instances with values in namespace ${namespace}`)
    // `list` is the default subcommand.
    expect((await registers("list")).stdout).toBe(run.stdout)
  })

  it("prints one object per register as JSON, and one register with --register", async () => {
    const all = await jsonLines()
    expect(all.map((r) => r.register)).toEqual(shopRegisters.map((r) => r.name))
    expect(all[0]).toEqual({
      register: "inventory-on-hand",
      declared: true,
      kind: "counter",
      owner: "procurement",
      writers: ["procurement", "customer-ops"],
      key: "SKU",
      summary: inventoryOnHand.summary,
      instances: [
        { id: "SKU-1", sites: ["main"] },
        { id: "SKU-C", sites: ["cloud", "edge"] },
      ],
    })
    expect(await jsonLines("list", "--register", "customer-profile")).toEqual([
      expect.objectContaining({ register: "customer-profile", instances: [{ id: "C-9", sites: ["main"] }] }),
    ])
  })
})

describe("mesh registers get", () => {
  it("prints the merged value of two sites, that they are concurrent, and each site's key", async () => {
    const run = await registers("get", "inventory-on-hand", "SKU-C")
    expect(run.code, run.stderr).toBe(0)
    const [value, concurrent, unresolved, ...sites] = linesOf(run.stdout)
    expect(value).toBe("inventory-on-hand/SKU-C (counter) = -3")
    expect(concurrent).toBe("concurrent: yes, sites hold writes the others have not seen (a merge is due)")
    expect(unresolved).toBe("unresolved: none")
    expect(sites).toEqual([
      expect.stringMatching(
        new RegExp(
          `^site cloud {2}revision \\d+ {2}version 1 {2}last writer cloud/procurement/c {2}hlc ${iso}\\+0 {2}context cloud/procurement/c=1$`,
        ),
      ),
      expect.stringMatching(/^site edge {3}revision \d+ {2}version 1 {2}last writer edge\/procurement\/e /),
    ])
  })

  it("prints the siblings a stale write left unresolved, as JSON too", async () => {
    const text = await registers("get", "customer-profile", "C-9")
    expect(text.code, text.stderr).toBe(0)
    expect(linesOf(text.stdout).slice(1, 3)).toEqual(["concurrent: no", "unresolved: 2"])
    const [reading] = await jsonLines("get", "customer-profile", "C-9")
    expect(reading).toMatchObject({
      register: "customer-profile",
      id: "C-9",
      kind: "multi-value",
      value: [{ email: "old@example.com", shippingAddress: "1 Main St" }, { email: "new@example.com" }],
      concurrent: false,
      context: { "main/customer-ops/s1": 2, "main/procurement/p1": 1 },
      sites: [
        {
          site: "main",
          revision: expect.any(Number),
          version: 3,
          writer: "main/procurement/p1",
          change: "Write",
          hlc: { wall: expect.any(Number), logical: expect.any(Number) },
          context: { "main/customer-ops/s1": 2, "main/procurement/p1": 1 },
        },
      ],
    })
    expect(reading.unresolved).toHaveLength(2)
  })

  it("says when no site has written an instance", async () => {
    expectRefusal(
      await registers("get", "inventory-on-hand", "SKU-404"),
      1,
      `inventory-on-hand/SKU-404 has no value in namespace ${namespace}: no site has written it (\`mesh registers list --register inventory-on-hand\` lists its instances)`,
    )
  })
})

describe("mesh registers history", () => {
  it("prints every change with its writer, operation, value after and ids", async () => {
    const run = await registers("history", "inventory-on-hand", "SKU-1")
    expect(run.code, run.stderr).toBe(0)
    expect(linesOf(run.stdout)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^v1 main ${iso} by main/procurement/p1 Add \\{"amount":12\\} value=12 event=${uuid} correlation=restock-1 causation=evt-1$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^v2 main ${iso} by main/customer-ops/s1 Add \\{"amount":-2\\} value=10 event=(${uuid}) correlation=\\1 causation=-$`,
        ),
      ),
      "2 changes; main at v2",
    ])
  })

  it("flags a write made from a stale view with the writes it had not seen", async () => {
    const run = await registers("history", "customer-profile", "C-9")
    expect(run.code, run.stderr).toBe(0)
    const lines = linesOf(run.stdout)
    expect(lines).toHaveLength(4)
    expect(lines[1]).not.toContain("stale view")
    expect(lines[2]).toMatch(
      new RegExp(
        `^v3 main ${iso} by main/procurement/p1 Set \\{"value":\\{"email":"old@example.com","shippingAddress":"1 Main St"\\}\\} ` +
          `\\(from a stale view: had not seen main/customer-ops/s1 write 2\\) ` +
          `value=\\[\\{"email":"old@example.com","shippingAddress":"1 Main St"\\},\\{"email":"new@example.com"\\}\\] event=`,
      ),
    )
  })

  it("prints each change's envelope and the value after it as JSON", async () => {
    const changes = await jsonLines("history", "customer-profile", "C-9")
    expect(changes.map((c) => [c.aggregateVersion, c.payload.change.writer, c.value.length])).toEqual([
      [1, "main/customer-ops/s1", 1],
      [2, "main/customer-ops/s1", 1],
      [3, "main/procurement/p1", 2],
    ])
    expect(changes[2]).toMatchObject({
      type: "RegisterChanged",
      aggregateType: "customer-profile",
      aggregateId: "C-9",
      payload: {
        site: "main",
        kind: "multi-value",
        change: { _tag: "Write", unseen: [{ writer: "main/customer-ops/s1", from: 2, to: 2 }] },
      },
    })
  })
})

/** Writes until the watch prints the change: it sees only what lands after it has subscribed. */
const writeUntilWatched = async (watching: RunningMesh, writeOne: (attempt: number) => Promise<string>) => {
  for (let attempt = 1; attempt <= 30; attempt++) {
    const marker = await writeOne(attempt)
    const seen = await Promise.race([
      watching.waitFor(marker).then(() => true),
      sleep(1_000).then(() => false),
    ])
    if (seen) return marker
  }
  throw new Error("the watch never printed a change")
}

describe("mesh registers watch", () => {
  it("prints the changes of one register made after it started, until Ctrl-C", async () => {
    const watching = startMesh([
      "registers",
      "watch",
      "--register",
      "inventory-on-hand",
      "--nats-url",
      server.url,
      "--namespace",
      namespace,
    ])
    const marker = await writeUntilWatched(watching, async (attempt) => {
      await Effect.runPromise(
        procurement.write(
          inventoryOnHand,
          "SKU-W",
          { _tag: "Add", amount: 5 },
          { correlationId: `watch-${attempt}` },
        ),
      )
      return `correlation=watch-${attempt} `
    })
    // Another register's change is not printed; the next change of this one is.
    await Effect.runPromise(
      procurement.write(listingStatus, "SKU-W", { _tag: "Set", status: "out-of-stock" }),
    )
    await Effect.runPromise(
      support.write(inventoryOnHand, "SKU-W", { _tag: "Add", amount: -1 }, { correlationId: "sold-1" }),
    )
    await watching.waitFor("correlation=sold-1 ")
    const ended = await watching.stop()
    expect(ended.code, ended.stderr).toBe(0)
    const lines = linesOf(ended.stdout)
    expect(lines.every((line) => line.startsWith("inventory-on-hand/SKU-W v"))).toBe(true)
    expect(lines.find((line) => line.includes(marker))).toMatch(
      new RegExp(
        `^inventory-on-hand/SKU-W v\\d+ main ${iso} by main/procurement/p1 Add \\{"amount":5\\} value=\\d+ `,
      ),
    )
    expect(lines.at(-1)).toMatch(
      / by main\/customer-ops\/s1 Add \{"amount":-1\} value=\d+ .*correlation=sold-1 /,
    )
  })

  it("prints each change as JSON with the value after it", async () => {
    const watching = startMesh([
      "registers",
      "watch",
      "--json",
      "--nats-url",
      server.url,
      "--namespace",
      namespace,
    ])
    await writeUntilWatched(watching, async (attempt) => {
      await Effect.runPromise(
        support.write(
          customerProfile,
          "C-W",
          { _tag: "Set", value: { email: `w${attempt}@example.com` } },
          { correlationId: `profile-${attempt}` },
        ),
      )
      return `"correlationId":"profile-${attempt}"`
    })
    const ended = await watching.stop()
    expect(ended.code, ended.stderr).toBe(0)
    const last = JSON.parse(linesOf(ended.stdout).at(-1)!)
    expect(last).toMatchObject({
      type: "RegisterChanged",
      aggregateType: "customer-profile",
      aggregateId: "C-W",
      payload: { change: { _tag: "Write", writer: "main/customer-ops/s1" } },
      value: [{ email: expect.stringMatching(/^w\d+@example.com$/) }],
    })
  })
})

describe("mesh registers with bad input", () => {
  const known = shopRegisters.map((r) => r.name).join(", ")

  it("names the declared registers when given another, and exits 2", async () => {
    const unknown = `no register "nope" is declared; the registers are ${known}`
    expectRefusal(await registers("get", "nope", "SKU-1"), 2, unknown)
    expectRefusal(await registers("history", "nope", "SKU-1"), 2, unknown)
    expectRefusal(await registers("--register", "nope"), 2, unknown)
    expectRefusal(await registers("watch", "--register", "nope"), 2, unknown)
  })

  it("says why an id cannot be a key, and exits 2", async () => {
    expectRefusal(
      await registers("get", "inventory-on-hand", "SKU.1"),
      2,
      `register id "SKU.1" must be 1-128 characters of letters, digits, '_' or '-'`,
    )
  })

  it("names a namespace without a register bucket, and creates none there", async () => {
    const bare = uniqueNamespace("bare")
    const run = await runMesh(["registers", "--nats-url", server.url, "--namespace", bare])
    const bucket = Subjects.registerBucket(bare)
    expectRefusal(run, 1, `namespace ${bare} has no register bucket ${bucket}; \`mesh streams\` declares it`)
    await expect(nats.jsm.streams.info(`KV_${bucket}`)).rejects.toThrow()
  })

  it("names the NATS it cannot reach, and exits 4", async () => {
    const [port] = await freePorts(1)
    const unreachable = `nats://127.0.0.1:${port}`
    for (const args of [["list"], ["get", "inventory-on-hand", "SKU-1"], ["watch", "--json"]]) {
      const run = await runMesh(["registers", ...args, "--nats-url", unreachable])
      expect(run.code, run.stderr).toBe(4)
      expect(linesOf(run.stderr)).toEqual([
        expect.stringMatching(`^mesh: cannot reach NATS at ${unreachable}: `),
      ])
    }
  })
})
