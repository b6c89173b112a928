import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir, userInfo } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { PGlite } from "@electric-sql/pglite"

// A new PGlite database runs initdb inside WebAssembly: about 4 s and 6 s of CPU on these 2-core
// machines, paid by every agent started on a fresh data folder (four at once in `pnpm demo`) and
// by every in-memory database a test opens. initdb's output depends only on the PGlite build, so
// it is made once per build, as Postgres's own template database is, and copied: opening a copied
// folder takes 0.8 s and 1 s of CPU, and loading the cluster's archive into memory 1.7 s and 2 s.
//
// The clusters live in the OS temp folder, one per PGlite version and per user (another user's
// files are never read). A cluster is built in a folder of its own and renamed into place whole,
// so a reader sees a finished one or none; processes that race on a new machine each build one
// and one rename wins. Anything amiss (no space, a folder we cannot write) falls back to initdb,
// which is what the copy saves, never a different database.

type PGliteModule = typeof import("@electric-sql/pglite")

/** The installed PGlite's version: a cluster made by another build is never used. */
const pgliteVersion = async (): Promise<string> => {
  let dir = dirname(fileURLToPath(import.meta.resolve("@electric-sql/pglite")))
  for (;;) {
    const file = join(dir, "package.json")
    if (existsSync(file)) {
      const manifest = JSON.parse(await readFile(file, "utf8")) as { name?: string; version?: string }
      if (manifest.name === "@electric-sql/pglite" && manifest.version !== undefined) return manifest.version
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error("cannot find @electric-sql/pglite's package.json")
    dir = parent
  }
}

interface Cluster {
  /** A closed cluster's folder, to copy into a new data folder. */
  readonly folder: string
  /** The same cluster as a tar archive, for an in-memory database (`loadDataDir`). */
  readonly archive: string
}

/** Where clusters are kept unless told otherwise: the OS temp folder, per user. */
export const defaultClustersRoot = () => join(tmpdir(), `mesh-pglite-clusters-${userInfo().uid}`)

const clusterAt = (root: string): Cluster => ({
  folder: join(root, "cluster"),
  archive: join(root, "cluster.tar"),
})

const isComplete = (cluster: Cluster) =>
  existsSync(join(cluster.folder, "PG_VERSION")) && existsSync(cluster.archive)

/**
 * A cluster is only taken from a folder this user owns and no one else may write: in a shared temp
 * folder another user could have made the folder first and put a cluster of theirs in it.
 */
const assertOwnFolder = async (folder: string): Promise<void> => {
  const uid = process.getuid?.()
  if (uid === undefined) return
  const { uid: owner, mode } = await stat(folder)
  if (owner !== uid || (mode & 0o022) !== 0)
    throw new Error(
      `${folder} is not this user's own folder (owner ${owner}, mode ${(mode & 0o777).toString(8)})`,
    )
}

const building = new Map<string, Promise<Cluster>>()

/** This PGlite build's initialised cluster under `clusters`, made now if no process has made it yet. */
const initialisedCluster = (pglite: PGliteModule, clusters: string): Promise<Cluster> => {
  const known = building.get(clusters)
  if (known !== undefined) return known
  const made = (async () => {
    const root = join(clusters, await pgliteVersion())
    const ready = clusterAt(root)
    if (isComplete(ready)) return ready
    await mkdir(dirname(root), { recursive: true, mode: 0o700 })
    await assertOwnFolder(dirname(root))
    const scratch = `${root}.building-${process.pid}-${randomBytes(4).toString("hex")}`
    try {
      const fresh = clusterAt(scratch)
      await mkdir(fresh.folder, { recursive: true, mode: 0o700 })
      const db = new pglite.PGlite(fresh.folder)
      try {
        await db.waitReady
        const archive = await db.dumpDataDir("none")
        await writeFile(fresh.archive, new Uint8Array(await archive.arrayBuffer()))
      } finally {
        await db.close()
      }
      // A whole folder appears at once; another process's rename may have won, and theirs is as good.
      await rename(scratch, root).catch((error: NodeJS.ErrnoException) => {
        if (!isComplete(ready)) throw error
      })
    } finally {
      await rm(scratch, { recursive: true, force: true })
    }
    return ready
  })()
  building.set(clusters, made)
  // A failed build is tried again by the next database rather than remembered.
  made.catch(() => building.delete(clusters))
  return made
}

/** The cluster, checked on every use (a folder's owner and mode can change while a process runs). */
const trustedCluster = (pglite: PGliteModule, clusters: string): Promise<Cluster> =>
  initialisedCluster(pglite, clusters).then(async (cluster) => {
    await assertOwnFolder(clusters)
    return cluster
  })

/** Whether `dataDir` holds no cluster yet (missing or empty), so a copy can become it. */
const isFresh = async (dataDir: string): Promise<boolean> =>
  (await readdir(dataDir).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? [] : null)))
    ?.length === 0

/**
 * Opens PGlite on `dataDir` (or in memory), started from this build's initialised cluster rather
 * than by initdb where it is new. A folder that already holds a cluster is opened as it is.
 */
export const openPGliteCluster = async (
  pglite: PGliteModule,
  dataDir: string | undefined,
  clusters: string = defaultClustersRoot(),
): Promise<PGlite> => {
  if (dataDir === undefined) {
    const archive = await trustedCluster(pglite, clusters)
      .then((cluster) => readFile(cluster.archive))
      .catch(() => undefined)
    return archive === undefined
      ? new pglite.PGlite()
      : // No "memory://" data folder named: kysely-pglite would make a "memory:" folder of it.
        new pglite.PGlite({ loadDataDir: new Blob([new Uint8Array(archive)]) })
  }
  if (await isFresh(dataDir)) {
    const copied = await trustedCluster(pglite, clusters)
      .then(async (cluster) => {
        // Copied beside the data folder and renamed onto it, so a crash mid-copy leaves no half cluster.
        const scratch = `${dataDir}.copying-${randomBytes(4).toString("hex")}`
        try {
          await cp(cluster.folder, scratch, { recursive: true })
          await rm(dataDir, { recursive: true, force: true })
          await rename(scratch, dataDir)
          return true
        } finally {
          await rm(scratch, { recursive: true, force: true })
        }
      })
      .catch(() => false)
    if (!copied) await mkdir(dataDir, { recursive: true })
  }
  return new pglite.PGlite(dataDir)
}
