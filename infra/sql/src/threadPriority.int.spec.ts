import { getPriority } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { describe, expect, it } from "vitest"

/**
 * Runs `lowerThisThread(asked)` on a thread of its own, which first sets its own nice value to
 * `startAt`, and answers that thread's nice value afterwards with the test's main thread's: a
 * thread's priority is its own, so lowering it touches nothing else of this process.
 */
const onAThreadOfItsOwn = (startAt: number, asked: number) =>
  new Promise<{ readonly thread: number | undefined; readonly main: number }>((resolve, reject) => {
    const module = pathToFileURL(join(import.meta.dirname, "threadPriority.ts")).href
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads")
const { setPriority } = require("node:os")
const { readlinkSync } = require("node:fs")
import(${JSON.stringify(module)}).then(({ lowerThisThread }) => {
  setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), ${startAt})
  parentPort.postMessage(lowerThisThread(${asked}))
})`,
      { eval: true },
    )
    worker.once("message", (thread: number | undefined) => {
      void worker.terminate()
      resolve({ thread, main: getMainNice() })
    })
    worker.once("error", reject)
  })

/** The nice value of the test's main thread (the process's id names it). */
const getMainNice = () => getPriority(process.pid)

describe("lowering a thread's priority", () => {
  it.skipIf(process.platform !== "linux")(
    "lowers the calling thread to the nice value asked, and nothing else of the process (Linux only: nice values per thread)",
    async () => {
      const main = getMainNice()
      const asked = Math.max(main + 1, 7)
      expect(await onAThreadOfItsOwn(main, asked)).toEqual({ thread: asked, main })
    },
  )

  it.skipIf(process.platform !== "linux")(
    "never raises it: a thread already below the value asked keeps its place (Linux only)",
    async () => {
      const main = getMainNice()
      const below = Math.max(main + 2, 15)
      expect(await onAThreadOfItsOwn(below, below - 1)).toEqual({ thread: below, main })
    },
  )
})
