import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles, openNats } from "@mesh/eventlog"
import { type Simulators, startSimulators } from "@mesh/simulators"
import {
  findRepoRoot,
  type NatsServerHandle,
  startNatsServer,
  uniqueNamespace,
  workspaceNode,
} from "@mesh/stack"
import { Effect } from "effect"
import { build } from "rolldown"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ActionCommands, makeActionCommands } from "../action/actionCommands.ts"
import { compensationKeyOf } from "../action/actionDecider.ts"
import {
  requestSampleAction,
  type SampleAction,
  sampleActions,
  waitForActionStatus,
} from "../testing/actionTestKit.ts"
import type { ExecutorCrashPoint } from "./actionExecutor.ts"

// Each run SIGKILLs a real executor process at a named point of one action; the next process
// (which has its own action to crash on) and finally a clean one must complete every intent with
// the same idempotency key, so that the simulators' ledgers show exactly one effect per key.
// MESH_CRASH_RUNS lowers the run count for a quick local check; CI runs the 50.
const runs = Number(process.env.MESH_CRASH_RUNS ?? "50")

/** The crash points of the issue: before the call, after it, after recording, and during compensation. */
const scenarios = ["before-call", "after-call", "after-record", "during-compensation"] as const
type Scenario = (typeof scenarios)[number]

let server: NatsServerHandle
let nats: NatsHandles
let simulators: Simulators

beforeAll(async () => {
  const bundle = join(mkdtempSync(join(tmpdir(), "mesh-executor-")), "executorProcess.mjs")
  await build({ input: source, platform: "node", logLevel: "warn", output: { file: bundle, format: "esm" } })
  script = bundle
  server = await startNatsServer()
  nats = await openNats(server.url)
  simulators = await startSimulators()
})
afterAll(async () => {
  await nats?.connection.drain()
  await server?.stop()
  await simulators?.stop()
})

const source = join(import.meta.dirname, "..", "testing", "executorProcess.ts")
// Hundreds of processes start in this file. Bundled once into one file, each start loads in about
// a quarter of the CPU time of resolving and type-stripping the workspace's modules one by one.
// The bundle is the same source: nothing is mocked or compiled differently.
let script = source

interface ExecutorChild {
  readonly child: ChildProcess
  /** Loaded and connected, waiting to be told where to crash (warm processes only). */
  readonly warm: Promise<void>
  /** Consuming. */
  readonly ready: Promise<void>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stderr: () => string
}

const spawnExecutor = (env: Record<string, string>): ExecutorChild => {
  const child = spawn(workspaceNode(), [script], {
    env: {
      ...process.env,
      NODE_COMPILE_CACHE: join(findRepoRoot(), ".data", "node-compile-cache"),
      MESH_PAYMENT_URL: simulators.payment.url,
      MESH_SUPPLIER_URL: simulators.supplier.url,
      MESH_STOREFRONT_URL: simulators.storefront.url,
      MESH_MAILBOX_URL: simulators.mailbox.url,
      MESH_NATS_URL: server.url,
      ...env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  })
  let stderr = ""
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk)
  })
  let out = ""
  const printed = (line: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes(`${line}\n`)) resolve()
      }
      child.stdout?.on("data", check)
      check()
      child.once("exit", () => reject(new Error(`executor exited before "${line}": ${stderr}`)))
    })
  child.stdout?.on("data", (chunk) => {
    out += String(chunk)
  })
  const warm = printed("warm")
  const ready = printed("ready")
  warm.catch(() => undefined)
  ready.catch(() => undefined)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  )
  return { child, warm, ready, exited, stderr: () => stderr }
}

/** A process that has loaded its modules and waits for its crash designation. */
const spawnWarmExecutor = (env: Record<string, string>) =>
  spawnExecutor({ ...env, MESH_CRASH_FROM_STDIN: "1" })

/** Tells a warm process where to crash; it starts consuming. */
const designate = (executor: ExecutorChild, point: ExecutorCrashPoint, action: string) => {
  executor.child.stdin?.write(`${JSON.stringify({ point, action })}\n`)
}

const within = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([
    promise,
    new Promise<A>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ])

const agentOf = (name: string) => `crash-${name.toLowerCase()}`

/** Runs every scenario of one action kind, `runs` times each, each run ending in a SIGKILL. */
const crashKind = async (name: string, sample: SampleAction, namespace: string, commands: ActionCommands) => {
  const agent = agentOf(name)
  const actions: Array<{ readonly actionId: string; readonly scenario: Scenario }> = []
  const chainEnv = {
    MESH_NAMESPACE: namespace,
    MESH_CONSUMER: `executor-${agent}`,
    MESH_FILTER_SUBJECT: Subjects.aggregateTypeWildcard(namespace, "actions", agent),
  }
  let spare: ExecutorChild | undefined
  let n = 0
  try {
    for (const scenario of scenarios) {
      for (let run = 0; run < runs; run++) {
        n++
        const actionId = `${name}-${scenario}-${run}`
        const point: ExecutorCrashPoint =
          scenario === "during-compensation"
            ? run % 2 === 0
              ? "compensation-before-call"
              : "compensation-after-call"
            : scenario
        const t0 = performance.now()
        // The next run's process loads while this one runs: module loading is most of a run's cost.
        const executor = spare ?? spawnWarmExecutor(chainEnv)
        spare = spawnWarmExecutor(chainEnv)
        await within(executor.warm, 60_000, `executor for ${actionId}`).catch((e) => {
          executor.child.kill("SIGKILL")
          throw new Error(`${(e as Error).message}; executor stderr: ${executor.stderr()}`)
        })
        designate(executor, point, actionId)
        await within(executor.ready, 30_000, `executor for ${actionId}`)
        const t1 = performance.now()
        await Effect.runPromise(
          requestSampleAction(commands, {
            agent,
            actionId,
            kind: sample.kind,
            parameters: sample.parameters(n),
            compensation: sample.compensation,
          }),
        )
        const t2 = performance.now()
        actions.push({ actionId, scenario })
        if (scenario === "during-compensation") {
          await waitForActionStatus(commands, agent, actionId, ["succeeded"], 30_000)
          await Effect.runPromise(
            commands.send(
              agent,
              actionId,
              "undo",
              { _tag: "RequestCompensation", reason: "crash test", now: new Date().toISOString() },
              { actor: { kind: "system", id: "crash-test" }, correlationId: actionId, causationId: null },
            ),
          )
        }
        const exit = await within(executor.exited, 30_000, `SIGKILL of ${actionId} at ${point}`).catch(
          (e) => {
            executor.child.kill("SIGKILL")
            throw new Error(`${(e as Error).message}; executor stderr: ${executor.stderr()}`)
          },
        )
        expect(exit.signal, `${actionId}: ${executor.stderr()}`).toBe("SIGKILL")
        if (process.env.MESH_CRASH_TIMING)
          console.log(
            `${actionId} ready ${Math.round(t1 - t0)} ms, request ${Math.round(t2 - t1)} ms, crash ${Math.round(performance.now() - t2)} ms`,
          )
      }
    }
  } catch (error) {
    spare?.child.kill("SIGKILL")
    throw error
  }

  // A clean executor (the spare, told to crash nowhere) completes whatever the killed ones left.
  const clean = spare ?? spawnWarmExecutor(chainEnv)
  try {
    await within(clean.warm, 60_000, "clean executor")
    clean.child.stdin?.write(`${JSON.stringify({ point: "none", action: "none" })}\n`)
    await within(clean.ready, 30_000, "clean executor")
    for (const { actionId, scenario } of actions) {
      const expected = scenario === "during-compensation" ? "compensated" : "succeeded"
      await waitForActionStatus(commands, agent, actionId, [expected], 60_000)
    }
  } finally {
    clean.child.kill("SIGTERM")
    await clean.exited
  }
  return actions
}

describe("executor crash safety", () => {
  it(`ends with one effect per key after ${runs} SIGKILLs at each crash point, for refunds, purchase orders and replies`, async () => {
    const namespace = uniqueNamespace("ac")
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
    const commands = makeActionCommands({ nats, namespace })
    const kinds = [
      ["refund", sampleActions.refund],
      ["po", sampleActions.purchaseOrder],
      ["reply", sampleActions.reply],
    ] as const
    // The three kinds run side by side, each with its own chain of executor processes.
    const done = await Promise.all(
      kinds.map(([name, sample]) => crashKind(name, sample, namespace, commands)),
    )

    const ledger = simulators.ledger()
    const effectsOf = (key: string) => ledger.filter((entry) => entry.key === key)
    for (const actions of done) {
      expect(actions).toHaveLength(runs * scenarios.length)
      for (const { actionId, scenario } of actions) {
        expect(effectsOf(actionId), `effects of ${actionId}`).toHaveLength(1)
        expect(effectsOf(compensationKeyOf(actionId)), `compensations of ${actionId}`).toHaveLength(
          scenario === "during-compensation" ? 1 : 0,
        )
      }
    }
    // Nothing else touched the world: every effect in the ledgers belongs to one of these intents.
    const keys = new Set(done.flat().flatMap(({ actionId }) => [actionId, compensationKeyOf(actionId)]))
    expect(ledger.filter((entry) => !keys.has(entry.key))).toEqual([])
  }, 1_500_000)
})
