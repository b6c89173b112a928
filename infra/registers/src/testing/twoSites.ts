import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  freePorts,
  type NatsServerHandle,
  ownTempDir,
  releaseTempDir,
  startNatsServer,
  waitFor,
} from "@mesh/stack"
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts"

/** Two private nats-servers, each its own site and JetStream domain, joined by a leafnode link a test can cut. */
export interface TwoSites {
  /** The hub: JetStream domain `cloud`, listening for leafnodes. */
  readonly cloud: NatsServerHandle
  /** The leaf: JetStream domain `edge`, its leafnode remote dialling the cloud through `link`. */
  readonly edge: NatsServerHandle
  readonly link: TcpProxy
  /** Resolves once both servers list the leafnode connection. */
  waitLinked(timeoutMs?: number): Promise<void>
  /** Resolves once neither server lists it. */
  waitUnlinked(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

const leafConnections = async (server: NatsServerHandle): Promise<number> => {
  const response = await fetch(`${server.monitorUrl}/leafz`, { signal: AbortSignal.timeout(1_000) })
  const body = (await response.json()) as { readonly leafnodes?: number }
  return body.leafnodes ?? 0
}

/**
 * Starts "cloud" and "edge" from config files: each with its own JetStream domain (named after its
 * site), so each keeps its own streams and answers `$JS.<domain>.API`, and the leafnode (in the
 * default account on both sides) carries only what crosses domains: the sources' consumer requests
 * and deliveries. The server denies `$JS.API.>`, `$KV.>` and `$OBJ.>` across a link between
 * different domains, so a KV write stays at the site it was made.
 */
export const startTwoSites = async (): Promise<TwoSites> => {
  const root = await mkdtemp(join(tmpdir(), "mesh-sites-"))
  // Removed even when the test process is killed outright.
  ownTempDir(root)
  const started: Array<{ stop(): Promise<void> }> = []
  try {
    const [leafPort] = (await freePorts(1)) as [number]
    const link = await startTcpProxy({ port: leafPort })
    started.push({ stop: () => link.close() })
    const cloudConf = join(root, "cloud.conf")
    // A hub tells its leafnodes where to reconnect; it names the link, so edge never bypasses it.
    await writeFile(
      cloudConf,
      `server_name: cloud
jetstream { domain: cloud }
leafnodes {
  listen: "127.0.0.1:${leafPort}"
  advertise: "127.0.0.1:${link.port}"
}
`,
    )
    const cloud = await startNatsServer({ args: ["-c", cloudConf] })
    started.push(cloud)
    const edgeConf = join(root, "edge.conf")
    await writeFile(
      edgeConf,
      `server_name: edge
jetstream { domain: edge }
leafnodes {
  reconnect: "1s"
  remotes: [ { url: "nats-leaf://127.0.0.1:${link.port}" } ]
}
`,
    )
    const edge = await startNatsServer({ args: ["-c", edgeConf] })
    started.push(edge)
    const linkCount = async () => Math.min(await leafConnections(cloud), await leafConnections(edge))
    const sites: TwoSites = {
      cloud,
      edge,
      link,
      waitLinked: async (timeoutMs = 15_000) => {
        await waitFor(
          "the leafnode link between cloud and edge",
          async () => ((await linkCount()) > 0 ? true : undefined),
          { timeoutMs, detail: () => `cloud:\n${cloud.logTail()}\nedge:\n${edge.logTail()}` },
        )
      },
      waitUnlinked: async (timeoutMs = 15_000) => {
        await waitFor(
          "the leafnode link to drop",
          async () =>
            (await leafConnections(cloud)) + (await leafConnections(edge)) === 0 ? true : undefined,
          { timeoutMs },
        )
      },
      stop: async () => {
        await Promise.all(started.map((s) => s.stop()))
        await releaseTempDir(root)
      },
    }
    await sites.waitLinked()
    return sites
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()))
    await releaseTempDir(root)
    throw error
  }
}
