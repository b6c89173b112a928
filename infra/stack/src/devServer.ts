import { readFileSync } from "node:fs"
import { join } from "node:path"
import { projectDataDir } from "./localStack.ts"

// The lock a private server writes into a kept store while it runs (STORE_LOCK in natsServer.ts).
const STORE_LOCK = "mesh-nats-server.json"

/** Who holds the project's JetStream store: nobody, a running server, or a process still starting one. */
export type DevServerState =
  | { readonly _tag: "Free"; readonly storeDir: string }
  | {
      readonly _tag: "Running"
      readonly storeDir: string
      readonly url: string
      readonly serverPid: number
      readonly ownerPid: number
    }
  | { readonly _tag: "Starting"; readonly storeDir: string; readonly ownerPid: number }

const alive = (pid: number | undefined): pid is number => {
  if (pid === undefined) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readLock = (path: string): { ownerPid?: number; serverPid?: number; url?: string } | undefined => {
  try {
    return JSON.parse(readFileSync(path, "utf8"))
  } catch {
    return undefined
  }
}

/**
 * The nats-server that `mesh dev` (or the demo) runs on `<dataDir>/nats`, read from its store
 * lock, so that a second `mesh dev` or the demo connects to it instead of failing on the locked
 * store. A lock whose processes are gone counts as free.
 */
export const findDevServer = (dataDir: string = projectDataDir()): DevServerState => {
  const storeDir = join(dataDir, "nats")
  const lock = readLock(join(storeDir, STORE_LOCK))
  if (lock === undefined) return { _tag: "Free", storeDir }
  if (alive(lock.serverPid) && lock.url !== undefined)
    return {
      _tag: "Running",
      storeDir,
      url: lock.url,
      serverPid: lock.serverPid,
      ownerPid: lock.ownerPid ?? lock.serverPid,
    }
  if (lock.serverPid === undefined && lock.ownerPid !== process.pid && alive(lock.ownerPid))
    return { _tag: "Starting", storeDir, ownerPid: lock.ownerPid }
  return { _tag: "Free", storeDir }
}
