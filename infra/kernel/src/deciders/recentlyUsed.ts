/**
 * Values by key, at most `capacity` (0 keeps none), the least recently used dropped first: a `Map`
 * keeps insertion order, and a hit is inserted again at the end. What a process keeps of the log
 * it wrote or read lately: aggregates' states, outside requests' records, commands' outcomes.
 */
export const makeRecentlyUsed = <A>(capacity: number) => {
  const entries = new Map<string, A>()
  return {
    get: (key: string): A | undefined => {
      const hit = entries.get(key)
      if (hit === undefined) return undefined
      entries.delete(key)
      entries.set(key, hit)
      return hit
    },
    set: (key: string, value: A): void => {
      if (capacity <= 0) return
      entries.delete(key)
      entries.set(key, value)
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string)
    },
    drop: (key: string): void => {
      entries.delete(key)
    },
  }
}
