import { spawn } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { takeQuietLane } from "./quietLane.ts"
import { workspaceNode } from "./testing.ts"

// A lane name of this file's own, so that the run's real timed specs are never held up by it.
const lane = `spec-${process.pid}`

/** A process that takes the lane, says so, and holds it until it is killed. */
const holder = () => {
  const child = spawn(
    workspaceNode(),
    [
      "--input-type=module",
      "-e",
      `const { takeQuietLane } = await import(${JSON.stringify(join(import.meta.dirname, "quietLane.ts"))})
       await takeQuietLane(${JSON.stringify(lane)}, { pollMs: 20 })
       console.log("held")
       setInterval(() => {}, 1000)`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  )
  const held = new Promise<void>((resolve) =>
    child.stdout.on("data", (d) => String(d).includes("held") && resolve()),
  )
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return { child, held, exited }
}

describe("the quiet lane", () => {
  it("has one holder at a time, and is free again once its holder is SIGKILLed", async () => {
    const first = holder()
    await first.held
    let taken = false
    const waiting = takeQuietLane(lane, { pollMs: 20 }).then((l) => {
      taken = true
      return l
    })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(taken, "taken while another process held the lane").toBe(false)
    first.child.kill("SIGKILL")
    await first.exited
    const mine = await waiting
    expect(taken).toBe(true)

    // Now this process holds it: a second process waits until it is released.
    const second = holder()
    let secondHeld = false
    void second.held.then(() => {
      secondHeld = true
    })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(secondHeld).toBe(false)
    await mine.release()
    await second.held
    second.child.kill("SIGKILL")
    await second.exited
  })

  it("gives up with an error naming the lane when it stays taken past the timeout", async () => {
    const mine = await takeQuietLane(lane)
    await expect(takeQuietLane(lane, { pollMs: 20, timeoutMs: 100 })).rejects.toThrow(
      `the quiet lane '${lane}' stayed taken for 100 ms`,
    )
    await mine.release()
  })
})
