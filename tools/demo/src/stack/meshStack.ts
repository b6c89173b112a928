import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { applyTopology, declareTopology, openNats, removeTopology } from "@mesh/eventlog"
import { type Simulators, startSimulators } from "@mesh/simulators"
import {
  findDevServer,
  findRepoRoot,
  freePorts,
  ownTempDir,
  projectDataDir,
  releaseTempDir,
  resolveNats,
} from "@mesh/stack"
import { Effect } from "effect"
import { type AgentProcess, type MeshAgent, meshAgents, startAgentProcess } from "./agentProcess.ts"

export { type MeshAgent, meshAgents } from "./agentProcess.ts"

/** The shop the demo's mesh serves: one tenant, its storefront's secret and its people's tokens. */
export interface ShopCredentials {
  readonly tenant: string
  /** The owner: the person who approves refunds and purchase orders. */
  readonly owner: { readonly name: string; readonly token: string }
  /** The mail and chat gateway's intake token. */
  readonly gatewayToken: string
  /** The secret that signs the storefront's order webhooks. */
  readonly storefrontSecret: string
}

/** The running mesh: NATS, the namespace, the simulated outside world and one process per agent. */
export interface MeshStack {
  readonly natsUrl: string
  /** Where NATS came from, for the first line the demo prints. */
  readonly natsSource: string
  readonly namespace: string
  readonly dataDir: string
  readonly shop: ShopCredentials
  readonly simulators: Simulators
  readonly agents: Readonly<Record<MeshAgent, AgentProcess>>
  /** The URL of each agent's HTTP API. */
  readonly urlOf: (agent: MeshAgent) => string
  /** Where each agent's process writes its log lines, across restarts. */
  readonly logOf: (agent: MeshAgent) => string
  readonly stop: () => Promise<void>
}

/**
 * The demo plays a shop's day in about half a minute, so the whole day falls inside one hour of the
 * clock the gate's quotas count by. An agent's own policy, with its hourly action quota made a
 * day's (24 hours of it) and everything else as shipped, is what it runs with here; its daily spend
 * quota stands as it is.
 */
const dayClockPolicy = (agent: "customer-ops" | "procurement" | "content-ops", dataDir: string): string => {
  const shipped = JSON.parse(
    readFileSync(join(findRepoRoot(), "services", agent, "policy", "actions.json"), "utf8"),
  ) as { version: string; quotas?: { actionsPerHour?: number } }
  const perHour = shipped.quotas?.actionsPerHour
  const policy =
    perHour === undefined
      ? shipped
      : // Its own version, so that the log says which policy ran (`mesh diff` weighs it against the shipped one).
        {
          ...shipped,
          version: `${shipped.version}+day-clock`,
          quotas: { ...shipped.quotas, actionsPerHour: perHour * 24 },
        }
  const file = join(dataDir, `policy-${agent}.json`)
  writeFileSync(file, `${JSON.stringify(policy, null, 2)}\n`)
  return file
}

const secret = () => randomBytes(18).toString("base64url")

/** NATS: MESH_NATS_URL, else the server a running `mesh dev` keeps, else a private one under `.data/`. */
export const demoNats = async (): Promise<{
  url: string
  source: string
  /** True for the private server this process started, whose store no one else uses. */
  private: boolean
  stop: () => Promise<void>
}> => {
  const env = process.env.MESH_NATS_URL
  if (env !== undefined && env !== "")
    return { url: env, source: "MESH_NATS_URL", private: false, stop: async () => undefined }
  const dataDir = projectDataDir()
  const devServer = findDevServer(dataDir)
  if (devServer._tag === "Running")
    return {
      url: devServer.url,
      source: `the server of \`mesh dev\`, pid ${devServer.serverPid}`,
      private: false,
      stop: async () => undefined,
    }
  const nats = await resolveNats({ dataDir })
  return {
    url: nats.url,
    source: `a private nats-server, store ${dataDir}/nats`,
    private: true,
    stop: nats.stop,
  }
}

/** Deletes the streams and stores of every namespace on the server that `like` matches, but `keep`. */
const removeNamespaces = async (url: string, like: RegExp, keep: string) => {
  const handles = await openNats(url, "mesh-stack")
  try {
    const namespaces = new Set<string>()
    for await (const name of handles.jsm.streams.names()) {
      // A namespace's streams are `<NAMESPACE>_<DOMAIN>`, its stores `KV_<namespace>_…`, `OBJ_…`.
      const namespace =
        name
          .replace(/^(KV|OBJ)_/, "")
          .split("_")[0]
          ?.toLowerCase() ?? ""
      if (like.test(namespace) && namespace !== keep) namespaces.add(namespace)
    }
    for (const namespace of namespaces)
      await Effect.runPromise(removeTopology(handles.jsm, declareTopology({ namespace })))
  } finally {
    await handles.connection.close()
  }
}

/**
 * Starts the mesh on embedded defaults: NATS (see {@link demoNats}), the simulated storefront,
 * payment provider, supplier and mailbox in this process, and each agent and the conflict resolver
 * as its own process with its read models in its own PGlite folder and its memory in its own
 * LanceDB folder under `dataDir`, on the offline model unless `OLLAMA_HOST` names a server.
 * With `keepData` the folder stays (the mesh is kept running for a second look); else it is removed.
 */
export const startMeshStack = async (options: {
  readonly namespace: string
  readonly keepData: boolean
  /** A NATS server to use as it is (`mesh dev` resolves its own); else {@link demoNats}. */
  readonly nats?: { readonly url: string; readonly source: string }
  readonly onRestart?: (agent: MeshAgent) => void
  /**
   * A sandbox for re-running recorded history: nothing driven by the clock (the storefront's
   * reconciliation poll, the late-delivery watch), since what the clock started then is in the log,
   * and no model server: a recorded decision is read back, and one that is not would be decided
   * offline and show as a new decision in the log, never as a call to a real model.
   */
  readonly sandbox?: boolean
  /**
   * Every agent decides, requests and gates its actions but executes none (MESH_ACTIONS_HOLD): a
   * dry fork. The actions wait in the log with their verdicts until the fork is promoted.
   */
  readonly holdActions?: boolean
  /**
   * The agents replay recorded history (MESH_REPLAY): a sandbox, whose registers and aggregates
   * hold the end of the day it replays, decides each reaction as of its cause (what it saw when
   * it first ran), and appends nothing the recorded day lacks.
   */
  readonly replay?: boolean
  /**
   * On the private nats-server under `.data/` only (never on a server named by MESH_NATS_URL or
   * kept by `mesh dev`, which others may share): deletes the streams and stores of the earlier
   * namespaces these names match before this one starts. A demo's day stays for a look after it
   * (`mesh trace`, `mesh replay`) until the next day replaces it; run after run, the days would
   * otherwise pile up in the store.
   */
  readonly replaceEarlier?: RegExp
}): Promise<MeshStack> => {
  const dataDir = options.keepData
    ? join(projectDataDir(), options.namespace)
    : mkdtempSync(join(tmpdir(), `mesh-demo-${options.namespace}-`))
  mkdirSync(join(dataDir, "logs"), { recursive: true })
  const logOf = (agent: MeshAgent) => join(dataDir, "logs", `${agent}.log`)
  // A day's temp folder goes with the demo, however it ends (its agents' stores, with nothing to
  // come back to them).
  if (!options.keepData) ownTempDir(dataDir)
  const cleanups: Array<() => Promise<void>> = []
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
    if (!options.keepData) await releaseTempDir(dataDir)
  }
  try {
    const nats =
      options.nats === undefined
        ? await demoNats()
        : { ...options.nats, private: false, stop: async () => undefined }
    cleanups.push(nats.stop)
    if (options.replaceEarlier !== undefined && nats.private)
      await removeNamespaces(nats.url, options.replaceEarlier, options.namespace)
    const simulators = await startSimulators({ host: "127.0.0.1" })
    cleanups.push(() => simulators.stop())
    const shop: ShopCredentials = {
      tenant: "shop",
      owner: { name: "owner", token: secret() },
      gatewayToken: secret(),
      storefrontSecret: secret(),
    }
    const ollamaHost = process.env.OLLAMA_HOST ?? process.env.MESH_OLLAMA_HOST ?? ""
    const common = {
      MESH_NATS_URL: nats.url,
      MESH_NAMESPACE: options.namespace,
      MESH_APPROVER_TOKENS: `${shop.owner.name}=${shop.owner.token}`,
      MESH_CONNECTOR_TIMEOUT_MS: "5000",
      MESH_OLLAMA_HOST: options.sandbox === true ? "" : ollamaHost,
      MESH_LOG_LEVEL: "warn",
      ...(options.holdActions === true ? { MESH_ACTIONS_HOLD: "true" } : {}),
      ...(options.replay === true ? { MESH_REPLAY: "true" } : {}),
    }
    const envOf = (agent: MeshAgent): Record<string, string> => {
      const own = {
        ...common,
        MESH_DATABASE_URL: `pglite:${join(dataDir, `pglite-${agent}`)}`,
        MESH_INSTANCE_ID: `${agent}-1`,
      }
      switch (agent) {
        case "customer-ops":
          return {
            ...own,
            MESH_ACTION_POLICY_FILE: dayClockPolicy(agent, dataDir),
            MESH_MEMORY_DIR: join(dataDir, `memory-${agent}`),
            MESH_TENANT: shop.tenant,
            MESH_INTAKE_TOKENS: `${shop.tenant}=${shop.gatewayToken}`,
            MESH_STOREFRONT_WEBHOOK_SECRETS: JSON.stringify({ [shop.tenant]: shop.storefrontSecret }),
            MESH_STOREFRONT_TENANT: shop.tenant,
            MESH_STOREFRONT_URL: simulators.storefront.url,
            MESH_STOREFRONT_RECONCILE_MS: options.sandbox === true ? "0" : "2000",
            MESH_PAYMENT_URL: simulators.payment.url,
            MESH_MAILBOX_URL: simulators.mailbox.url,
          }
        case "procurement":
          return {
            ...own,
            MESH_ACTION_POLICY_FILE: dayClockPolicy(agent, dataDir),
            MESH_SUPPLIER_URL: simulators.supplier.url,
            MESH_LATE_DELIVERY_CHECK_MS: options.sandbox === true ? "0" : "1000",
          }
        case "content-ops":
          return {
            ...own,
            MESH_ACTION_POLICY_FILE: dayClockPolicy(agent, dataDir),
            MESH_STOREFRONT_URL: simulators.storefront.url,
          }
        case "conflict-resolver":
          return own
      }
    }
    const ports = await freePorts(meshAgents.length)
    // The streams are declared once here, so that the agents, which each declare them again on
    // start (finding them as declared), can start side by side on the two cores.
    const declaring = await openNats(nats.url, "mesh-stack")
    try {
      await Effect.runPromise(applyTopology(declaring.jsm, declareTopology({ namespace: options.namespace })))
    } finally {
      await declaring.connection.close()
    }
    const agents = {} as Record<MeshAgent, AgentProcess>
    const start = async (agent: MeshAgent, index: number) => {
      const started = await startAgentProcess(
        {
          agent,
          port: ports[index] as number,
          env: envOf(agent),
          logFile: logOf(agent),
        },
        options.onRestart === undefined ? {} : { onRestart: options.onRestart },
      )
      agents[agent] = started
      cleanups.push(() => started.stop())
    }
    // Side by side; every agent that started is stopped again (by `stop`) if one fails to.
    const results = await Promise.allSettled(meshAgents.map((agent, index) => start(agent, index)))
    const failed = results.find((r) => r.status === "rejected")
    if (failed !== undefined) throw failed.reason
    // The storefront's order webhooks, signed with the shop's secret, go to customer ops (which also
    // polls the storefront's order events for the ones a webhook loses).
    const webhook = await fetch(`${simulators.storefront.url}/_admin/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        url: `${agents["customer-ops"].url}/storefront/webhooks`,
        secret: shop.storefrontSecret,
      }),
    })
    if (!webhook.ok)
      throw new Error(`the storefront refused the webhook: ${webhook.status} ${await webhook.text()}`)
    return {
      natsUrl: nats.url,
      natsSource: nats.source,
      namespace: options.namespace,
      dataDir,
      shop,
      simulators,
      agents,
      urlOf: (agent) => agents[agent].url,
      logOf,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
