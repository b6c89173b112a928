import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { projectDataDir } from "@mesh/stack"

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Where inspection commands find NATS: an explicit flag, then NATS_URL, then the server `mesh dev`
 * (or the demo) started under the project's data folder. Never starts one: inspecting an empty
 * new server would only mislead.
 */
export const natsTarget = (flag: string | undefined): string => {
  if (flag !== undefined) return flag
  const env = process.env.NATS_URL
  if (env !== undefined && env !== "") return env
  const lockFile = join(projectDataDir(), "nats", "mesh-nats-server.json")
  if (existsSync(lockFile)) {
    const lock = JSON.parse(readFileSync(lockFile, "utf8")) as { url?: string; serverPid?: number }
    if (lock.url !== undefined && alive(lock.serverPid)) return lock.url
  }
  throw new Error(
    "no NATS server to inspect: pass --nats-url, set NATS_URL, or start the local one with `pnpm mesh dev`",
  )
}

/** The namespace to act on: the flag, else MESH_NAMESPACE, else "mesh". */
export const namespaceOf = (flag: string | undefined): string => flag ?? process.env.MESH_NAMESPACE ?? "mesh"
