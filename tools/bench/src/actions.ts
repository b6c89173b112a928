import { spawn } from "node:child_process"
import { join } from "node:path"
import { createInterface } from "node:readline"
import {
  decodePolicy,
  defaultExecutorConcurrency,
  makeActionCommands,
  makeActionExecutor,
  makeActionGate,
  makeHttpConnectorRegistry,
  quotaInputs,
} from "@mesh/actions"
import { Subjects } from "@mesh/contracts"
import { applyTopology, declareTopology, type NatsHandles } from "@mesh/eventlog"
import { countingNats } from "@mesh/eventlog/testing"
import { findRepoRoot, workspaceNode } from "@mesh/stack"
import { AckPolicy, DeliverPolicy, type JsMsg } from "@nats-io/jetstream"
import { Deferred, Effect, Fiber, Result } from "effect"
import { request as httpRequest } from "undici"
import { v7 as uuidv7 } from "uuid"
import { type BenchResult, now } from "./harness.ts"

const agent = "bench-ops"
const kind = "mailbox.send-message"

const policy = (() => {
  const decoded = decodePolicy(
    {
      workflow: "bench",
      version: "1",
      approvalTtl: "PT1H",
      defaultMode: "require-approval",
      kinds: { [kind]: { mode: "auto", rules: [] } },
      quotas: {},
      skills: { replyToCustomer: [kind] },
    },
    "bench",
  )
  if (Result.isFailure(decoded)) throw decoded.failure
  return decoded.success
})()

// Ids of one length, so that the raw path's copies of our commits have our commits' sizes.
const actionId = (prefix: "a" | "f" | "r" | "w", n: number) => `${prefix}-${String(n).padStart(6, "0")}`

/** The simulators as their own process: the external system is not on our event loop, as in production. */
const startSimulatorProcess = async () => {
  const child = spawn(workspaceNode(), [join(findRepoRoot(), "tools", "simulators", "src", "main.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve)
    child.once("exit", (code) => reject(new Error(`the simulators exited (${code}) before they were ready`)))
  })
  const urls = JSON.parse(line) as { readonly mailbox: string }
  return {
    mailboxUrl: urls.mailbox,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve())
        child.kill("SIGTERM")
      }),
  }
}

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1_000

/** Runs `work`: its wall time in seconds and this process's CPU in milliseconds meanwhile. */
const timed = async (work: () => Promise<unknown>) => {
  const cpu = process.cpuUsage()
  const started = now()
  await work()
  return { seconds: (now() - started) / 1_000, cpuMs: cpuMs(process.cpuUsage(cpu)) }
}

/** Runs `total` jobs, `inFlight` at a time, each job one index. */
const pool = async (total: number, inFlight: number, job: (n: number) => Promise<void>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(inFlight, total) }, async () => {
      while (next < total) await job(next++)
    }),
  )
}

const succeededMarker = Buffer.from('"type":"ActionSucceeded"')

/**
 * The gate and the executor of one agent in a namespace of their own, on counted NATS handles;
 * `succeeded()` resolves when `count` actions have succeeded (seen on a plain subscription, which
 * reads nothing from the log), and `commits` keeps the commits of the first action as written.
 */
const startOurs = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly mailboxUrl: string
  readonly concurrency: number
}) => {
  const { nats, namespace } = options
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const counted = countingNats(nats)
  const commands = makeActionCommands({ nats: counted.nats, namespace })
  // An agent's gate reads its quota history from its actions read model, never the log; the
  // bench's policy has no quotas, so the history is empty and no read model runs.
  const gate = makeActionGate({
    commands,
    policy,
    counters: (agent, now, currency) => Effect.succeed(quotaInputs([], agent, now, currency)),
  })
  const executor = makeActionExecutor({
    nats: counted.nats,
    namespace,
    connectors: makeHttpConnectorRegistry({
      paymentUrl: null,
      supplierUrl: null,
      storefrontUrl: null,
      mailboxUrl: options.mailboxUrl,
      timeoutMs: 10_000,
    }),
    consumerName: `action-executor-${agent}`,
    filterSubject: Subjects.aggregateTypeWildcard(namespace, "actions", agent),
    concurrency: options.concurrency,
  })
  const stop = Effect.runSync(Deferred.make<void>())
  const fiber = Effect.runFork(executor.run(Deferred.await(stop)))

  let succeeded = 0
  let waiting: { readonly count: number; readonly resolve: () => void } | undefined
  const commits: Array<Uint8Array> = []
  const firstSubject = Subjects.aggregate(namespace, "actions", agent, actionId("a", 0))
  const subscription = nats.connection.subscribe(Subjects.aggregateTypeWildcard(namespace, "actions", agent))
  void (async () => {
    for await (const m of subscription) {
      if (m.subject === firstSubject) commits.push(m.data)
      // Found in the bytes, not a decoded string: the observer's cost is the bench's, not ours.
      if (Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).includes(succeededMarker))
        succeeded++
      if (waiting !== undefined && succeeded >= waiting.count) waiting.resolve()
    }
  })()

  const request = (n: number, prefix: "a" | "w") =>
    Effect.runPromise(
      gate.request({
        actionId: actionId(prefix, n),
        agent,
        skill: "replyToCustomer",
        kind,
        parameters: {
          to: `customer-${n}@example.com`,
          subject: `Re: order ${n}`,
          body: "Your replacement is on its way; the tracking number follows by mail.",
        },
        cause: { decisionId: null, eventId: null },
        confidence: 0.9,
        sentiment: "neutral",
        firstTimeSupplier: null,
        correlationId: `bench-${n}`,
        causationId: null,
      }),
    ).then(() => undefined)

  return {
    counted,
    commits,
    request,
    succeeded: (count: number) =>
      new Promise<void>((resolve) => {
        waiting = { count, resolve }
        if (succeeded >= count) resolve()
      }),
    stop: async () => {
      Effect.runSync(Deferred.succeed(stop, undefined))
      await Effect.runPromise(Fiber.await(fiber))
      subscription.unsubscribe()
    },
  }
}

const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g
const decoder = new TextDecoder()
const encoder = new TextEncoder()

/**
 * One of our commits under another action id of the same length, with fresh event ids, and the
 * id that names it for deduplication as ours does: its first event's, the first id in it (an
 * envelope starts with its event id).
 */
const freshCommit = (template: string, id: string) => {
  const fresh = new Map<string, string>()
  const json = template
    .replaceAll(actionId("a", 0), id)
    .replace(uuidPattern, (old) => fresh.get(old) ?? fresh.set(old, uuidv7()).get(old)!)
  return { data: encoder.encode(json), msgID: fresh.values().next().value as string }
}

/**
 * The raw path of one action: its commits as our path wrote them, under another action id of the
 * same length and fresh event ids, each published with the expected last sequence of its subject.
 */
const rawAction = async (
  nats: NatsHandles,
  namespace: string,
  templates: ReadonlyArray<string>,
  n: number,
) => {
  const id = actionId("r", n)
  const subject = Subjects.aggregate(namespace, "actions", agent, id)
  let last = 0
  for (const template of templates) {
    const commit = freshCommit(template, id)
    const ack = await nats.js.publish(subject, commit.data, {
      msgID: commit.msgID,
      expect: { lastSubjectSequence: last },
    })
    last = ack.seq
  }
}

/**
 * The floor of an action's input and output: what the gate and the executor must do on the wire,
 * written with nats.js alone. The intent's commit is published with an expected sequence; a
 * durable pull consumer of the same configuration delivers it (4 at a time); the attempt's commit
 * is published, the simulator called with the action's key, the result's commit published and
 * the delivery acknowledged; the consumer's deliveries of its own two commits are acknowledged
 * unread. Our commits are copied as in the raw path, each named for deduplication as ours are.
 * Nothing is decoded, decided or folded: the gap between it and ours is our code's; the gap
 * between it and raw is the rest of an action's wire work (the deliveries, the acks and the
 * call), which raw leaves out.
 */
const startFloor = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly mailboxUrl: string
  readonly templates: ReadonlyArray<string>
  readonly concurrency: number
}) => {
  const { nats, namespace, templates } = options
  await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace })))
  const stream = Subjects.streamName(namespace, "actions")
  const name = `floor-executor-${agent}`
  await nats.jsm.consumers.add(stream, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: Subjects.aggregateTypeWildcard(namespace, "actions", agent),
    ack_wait: 30_000_000_000,
    max_deliver: -1,
    max_ack_pending: 1_000,
  })
  const messages = await (await nats.js.consumers.get(stream, name)).consume({ max_messages: 256 })
  // Subjects whose action the floor is performing, and by subject the last sequence it wrote: its
  // own commits' deliveries are acknowledged unread.
  const performing = new Set<string>()
  const written = new Map<string, number>()
  let succeeded = 0
  let waiting:
    | { readonly count: number; readonly resolve: () => void; readonly reject: (e: Error) => void }
    | undefined
  // The first failure ends the run: `succeeded` rejects with it rather than wait for ever.
  let failed: Error | undefined
  const perform = async (m: JsMsg) => {
    const id = m.subject.slice(m.subject.lastIndexOf(".") + 1)
    JSON.parse(m.string())
    const attempt = freshCommit(templates[1]!, id)
    const started = await nats.js.publish(m.subject, attempt.data, {
      msgID: attempt.msgID,
      expect: { lastSubjectSequence: m.seq },
    })
    const response = await httpRequest(`${options.mailboxUrl}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": id },
      body: JSON.stringify({
        to: `customer-${id}@example.com`,
        subject: `Re: order ${id}`,
        body: "On its way.",
      }),
    })
    const answer = await response.body.text()
    if (response.statusCode >= 300)
      throw new Error(`the mailbox simulator answered ${response.statusCode}: ${answer.slice(0, 200)}`)
    const result = freshCommit(templates[2]!, id)
    const done = await nats.js.publish(m.subject, result.data, {
      msgID: result.msgID,
      expect: { lastSubjectSequence: started.seq },
    })
    written.set(m.subject, done.seq)
    m.ack()
    succeeded++
    if (waiting !== undefined && succeeded >= waiting.count) waiting.resolve()
  }
  let inHand = 0
  const free: Array<() => void> = []
  const loop = (async () => {
    for await (const m of messages) {
      if (performing.has(m.subject) || (written.get(m.subject) ?? 0) >= m.seq) {
        m.ack()
        continue
      }
      if (inHand >= options.concurrency) await new Promise<void>((resolve) => free.push(resolve))
      inHand++
      performing.add(m.subject)
      void perform(m)
        .catch((error: unknown) => {
          failed ??= error instanceof Error ? error : new Error(String(error))
          m.nak()
          waiting?.reject(failed)
        })
        .finally(() => {
          performing.delete(m.subject)
          inHand--
          free.shift()?.()
        })
    }
  })()
  return {
    request: async (n: number) => {
      const id = actionId("f", n)
      const intent = freshCommit(templates[0]!, id)
      await nats.js.publish(Subjects.aggregate(namespace, "actions", agent, id), intent.data, {
        msgID: intent.msgID,
        expect: { lastSubjectSequence: 0 },
      })
    },
    succeeded: (count: number) =>
      new Promise<void>((resolve, reject) => {
        waiting = { count, resolve, reject }
        if (failed !== undefined) reject(failed)
        else if (succeeded >= count) resolve()
      }),
    stop: async () => {
      await messages.close()
      await loop
    },
  }
}

/**
 * Actions per second from intent to `ActionSucceeded` through the gate and the executor, against
 * the mailbox simulator, beside the raw rate of the same commits (same count and sizes) published
 * with `js.publish` and an expected sequence, at the same number of intents in flight; and, for
 * scale, the external call alone (a plain POST to the simulator per action).
 */
export const runActionsBench = async (options: {
  readonly nats: NatsHandles
  readonly namespace: string
  readonly actions?: number
  readonly inFlight?: number
  /** Deliveries the executor handles at once (its default when left out). */
  readonly concurrency?: number
}): Promise<BenchResult> => {
  const total = options.actions ?? 2_000
  const inFlight = options.inFlight ?? 32
  const concurrency = options.concurrency ?? defaultExecutorConcurrency
  const { nats } = options
  const simulators = await startSimulatorProcess()
  try {
    // Warm up both paths (JIT, connections, the simulator) on namespaces of their own.
    const warm = await startOurs({
      nats,
      namespace: `${options.namespace}w`,
      mailboxUrl: simulators.mailboxUrl,
      concurrency,
    })
    await pool(200, inFlight, (n) => warm.request(n, "w"))
    await warm.succeeded(200)
    await warm.stop()

    const ours = await startOurs({
      nats,
      namespace: `${options.namespace}o`,
      mailboxUrl: simulators.mailboxUrl,
      concurrency,
    })
    ours.counted.reset()
    const { seconds: oursSeconds, cpuMs: oursCpuMs } = await timed(async () => {
      await pool(total, inFlight, (n) => ours.request(n, "a"))
      await ours.succeeded(total)
    })
    const reads = ours.counted.reads()
    await ours.stop()
    const templates = ours.commits.map((commit) => decoder.decode(commit))
    if (templates.length === 0) throw new Error("the first action's commits were not seen")

    // The floor: the same wire work without our code, warmed on its own namespace first.
    const playFloor = async (namespace: string, count: number, first: number) => {
      const floor = await startFloor({
        nats,
        namespace,
        mailboxUrl: simulators.mailboxUrl,
        templates,
        concurrency,
      })
      const measured = await timed(async () => {
        await pool(count, inFlight, (n) => floor.request(first + n))
        await floor.succeeded(count)
      })
      await floor.stop()
      return measured
    }
    await playFloor(`${options.namespace}fw`, 200, 900_000)
    const { seconds: floorSeconds, cpuMs: floorCpuMs } = await playFloor(`${options.namespace}f`, total, 0)

    const rawNs = `${options.namespace}r`
    await Effect.runPromise(applyTopology(nats.jsm, declareTopology({ namespace: rawNs })))
    await pool(200, inFlight, (n) => rawAction(nats, rawNs, templates, 900_000 + n))
    const { seconds: rawSeconds, cpuMs: rawCpuMs } = await timed(() =>
      pool(total, inFlight, (n) => rawAction(nats, rawNs, templates, n)),
    )

    // The external call alone, for scale: a plain POST to the simulator per action, as many in flight.
    const { seconds: httpSeconds, cpuMs: httpCpuMs } = await timed(() =>
      pool(total, inFlight, async (n) => {
        // The client the HTTP connectors use.
        const response = await httpRequest(`${simulators.mailboxUrl}/v1/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": actionId("r", n) },
          body: JSON.stringify({
            to: `customer-${n}@example.com`,
            subject: `Re: order ${n}`,
            body: "On its way.",
          }),
        })
        await response.body.text()
      }),
    )

    const oursRate = total / oursSeconds
    const rawRate = total / rawSeconds
    const ratio = oursRate / rawRate
    return {
      benchmark: "actions",
      description: `${total} auto actions (${kind}), ${inFlight} intents in flight, through the gate and the executor (${concurrency} deliveries at a time) against the mailbox simulator`,
      paths: {
        ours: {
          actions: total,
          seconds: oursSeconds,
          actions_per_s: oursRate,
          cpu_ms_per_action: oursCpuMs / total,
        },
        raw: {
          actions: total,
          seconds: rawSeconds,
          actions_per_s: rawRate,
          appends_per_s: rawRate * templates.length,
          cpu_ms_per_action: rawCpuMs / total,
        },
        floor: {
          actions: total,
          seconds: floorSeconds,
          actions_per_s: total / floorSeconds,
          cpu_ms_per_action: floorCpuMs / total,
        },
        http: {
          calls: total,
          seconds: httpSeconds,
          calls_per_s: total / httpSeconds,
          cpu_ms_per_call: httpCpuMs / total,
        },
      },
      ratio,
      goal: "ours >= 0.5x raw: an action's events cost at most 2x their raw appends",
      goalMet: ratio >= 0.5,
      extra: {
        commits_per_action: templates.length,
        bytes_per_action: ours.commits.reduce((sum, c) => sum + c.length, 0),
        log_reads_per_action: reads.length / total,
        // The goal's own terms on CPU: what an action's events cost this process beyond its
        // connector call (the plain call's client CPU), over what their raw appends cost.
        events_cpu_over_raw: (oursCpuMs / total - httpCpuMs / total) / (rawCpuMs / total),
        executor_concurrency: concurrency,
        // The design's share and our code's: the floor does the wire work of an action (its three
        // appends, three deliveries and acks, and the call) and nothing else.
        floor_over_raw: rawSeconds / floorSeconds,
        ours_over_floor: floorSeconds / oursSeconds,
        ours_cpu_over_floor: oursCpuMs / floorCpuMs,
      },
    }
  } finally {
    await simulators.stop()
  }
}
