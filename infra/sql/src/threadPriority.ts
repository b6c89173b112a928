import { readlinkSync } from "node:fs"
import { getPriority, setPriority } from "node:os"

/**
 * Lowers the calling thread's priority to `niceness` (Linux: a thread's nice value is its own, so
 * this thread, named by /proc/thread-self, is lowered and nothing else is). Only ever lowered: a
 * thread already below `niceness` keeps its place, where a privileged process would otherwise raise
 * it. Threads the caller starts afterwards inherit the lower priority, so a thread lowers itself
 * once it has started what it needs. Best effort: elsewhere, or where it may not be lowered, the
 * thread runs as it is. Answers the thread's nice value afterwards, or undefined where unknown.
 */
export const lowerThisThread = (niceness: number): number | undefined => {
  try {
    const thread = Number(readlinkSync("/proc/thread-self").split("/").pop())
    if (!Number.isInteger(thread) || thread <= 0) return undefined
    if (getPriority(thread) < niceness) setPriority(thread, niceness)
    return getPriority(thread)
  } catch {
    return undefined // not Linux, or not allowed: the priority it had
  }
}
