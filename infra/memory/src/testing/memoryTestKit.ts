import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import type { MemoryRecord } from "../memoryRecord.ts"
import { MemoryStore, type MemoryStoreOptions } from "../memoryStore.ts"
import { tokenHashEmbedder } from "./tokenHashEmbedder.ts"

/** A fresh LanceDB directory for one test; removed by the returned disposer. */
export const tempMemoryDir = (): { readonly dir: string; readonly [Symbol.dispose]: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "mesh-memory-"))
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Runs an effect against a memory store over `dir`, closing the store afterwards. */
export const runWithStore = <A, E>(
  dir: string,
  effect: Effect.Effect<A, E, MemoryStore>,
  options: Omit<MemoryStoreOptions, "dir"> = {},
): Promise<A> => Effect.runPromise(effect.pipe(Effect.provide(MemoryStore.layer({ dir, ...options }))))

const embed = tokenHashEmbedder()

/** Memory records for texts, embedded with the test embedder. */
export const recordsFor = async (
  entries: ReadonlyArray<{
    readonly id: string
    readonly tenantId: string
    readonly text: string
    readonly sequence: number
    readonly updatedAt?: string
    readonly metadata?: Readonly<Record<string, unknown>>
  }>,
): Promise<MemoryRecord[]> => {
  const vectors = await embed(entries.map((e) => e.text))
  return entries.map((e, i) => ({
    id: e.id,
    tenantId: e.tenantId,
    text: e.text,
    vector: vectors[i]!,
    source: { stream: "MESH_TEST", sequence: e.sequence, eventId: `event-${e.sequence}` },
    updatedAt: e.updatedAt ?? "2026-11-25T10:00:00.000Z",
    metadata: e.metadata ?? {},
  }))
}

/** The test embedder's vector for one text. */
export const vectorOf = async (text: string): Promise<Float32Array> => (await embed([text]))[0]!

/** A small seeded PRNG (mulberry32) returning numbers in [0, 1), so that generated data is the same on every run. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
