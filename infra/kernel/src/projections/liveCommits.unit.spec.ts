import { describe, expect, it, vi } from "vitest"
import {
  forgetLiveCommits,
  heldHere,
  liveCommitHere,
  NOTED_COMMIT_TRUSTED_MS,
  nextLiveCommit,
  noteLiveCommit,
  readersWaiting,
  whenReaderWaits,
} from "./liveCommits.ts"

const waitFor = (db: object, stream: string, atMostMs: number) =>
  new Promise<boolean>((resolve) => {
    nextLiveCommit(db, "s", "tickets", stream, atMostMs, resolve)
  })

describe("live commits of this process's projectors", () => {
  it("knows nothing of a read model no projector here has committed to", () => {
    expect(liveCommitHere({}, "s", "tickets", "NS_CUSTOMER")).toBeUndefined()
  })

  it("keeps where each stream's checkpoint stands, per database handle, and never moves it back", () => {
    const db = {}
    const other = {}
    noteLiveCommit(
      db,
      "s",
      "tickets",
      new Map([
        ["NS_CUSTOMER", 12],
        ["NS_ACTIONS", 3],
      ]),
    )
    noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 9]]))
    expect(liveCommitHere(db, "s", "tickets", "NS_CUSTOMER")).toBe(12)
    expect(liveCommitHere(db, "s", "tickets", "NS_ACTIONS")).toBe(3)
    // Another database, schema or projection is another read model.
    expect(liveCommitHere(other, "s", "tickets", "NS_CUSTOMER")).toBeUndefined()
    expect(liveCommitHere(db, "t", "tickets", "NS_CUSTOMER")).toBeUndefined()
    expect(liveCommitHere(db, "s", "orders", "NS_CUSTOMER")).toBeUndefined()
  })

  it("wakes a waiting reader at the next commit on its stream, and only a commit that moves it", async () => {
    const db = {}
    noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 5]]))
    const woken = waitFor(db, "NS_CUSTOMER", 60_000)
    let settled = false
    void woken.then(() => {
      settled = true
    })
    // A commit on another stream, or one that does not move the checkpoint, wakes nobody.
    noteLiveCommit(db, "s", "tickets", new Map([["NS_ACTIONS", 7]]))
    noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 5]]))
    await Promise.resolve()
    expect(settled).toBe(false)
    noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 6]]))
    expect(await woken).toBe(true)
  })

  it("wakes a waiting reader after its longest wait when no commit comes, and lets it give up", async () => {
    const db = {}
    expect(await waitFor(db, "NS_CUSTOMER", 5)).toBe(false)
    let called = false
    const stop = nextLiveCommit(db, "s", "tickets", "NS_CUSTOMER", 5, () => {
      called = true
    })
    stop()
    noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 1]]))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(called).toBe(false)
  })

  it("tells a lingering projector when a reader starts waiting on its read model, and while one waits", () => {
    const db = {}
    const told: Array<string> = []
    const stop = whenReaderWaits(db, "s", "tickets", () => told.push("tickets"))
    whenReaderWaits(db, "s", "orders", () => told.push("orders"))
    expect(readersWaiting(db, "s", "tickets")).toBe(false)
    const leave = nextLiveCommit(db, "s", "tickets", "NS_CUSTOMER", 60_000, () => undefined)
    expect(told).toEqual(["tickets"])
    expect(readersWaiting(db, "s", "tickets")).toBe(true)
    expect(readersWaiting(db, "s", "orders")).toBe(false)
    // Told once: a listener is for one linger.
    nextLiveCommit(db, "s", "tickets", "NS_ACTIONS", 60_000, () => undefined)()
    expect(told).toEqual(["tickets"])
    leave()
    expect(readersWaiting(db, "s", "tickets")).toBe(false)
    // A reader woken by a commit waits no longer.
    nextLiveCommit(db, "s", "tickets", "NS_CUSTOMER", 60_000, () => undefined)
    noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 1]]))
    expect(readersWaiting(db, "s", "tickets")).toBe(false)
    stop()
  })

  it("holds a cause it committed a moment ago at the reader's version, and no longer once the note is old", () => {
    vi.useFakeTimers({ now: 1_000_000 })
    try {
      const db = {}
      const at = (sequence: number, version = 2) =>
        heldHere(db, "s", "tickets", "NS_CUSTOMER", { sequence, version })
      expect(at(1)).toBe(false)
      noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 12]]), 2)
      expect(at(12)).toBe(true)
      expect(at(5)).toBe(true)
      // Not yet committed, or committed into another version's tables.
      expect(at(13)).toBe(false)
      expect(at(12, 3)).toBe(false)
      // A batch that did not check its version vouches for none.
      noteLiveCommit(db, "s", "orders", new Map([["NS_CUSTOMER", 12]]))
      expect(heldHere(db, "s", "orders", "NS_CUSTOMER", { sequence: 12, version: 2 })).toBe(false)
      vi.advanceTimersByTime(NOTED_COMMIT_TRUSTED_MS + 1)
      expect(at(12)).toBe(false)
      // A later commit that leaves the checkpoint where it was renews it.
      noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 12]]), 2)
      expect(at(12)).toBe(true)
      // Its projector stopped serving the tables (another build swapped its version in): its notes
      // vouch for nothing, though where the stream stands is kept, until it commits again.
      forgetLiveCommits(db, "s", "tickets")
      expect(at(12)).toBe(false)
      expect(liveCommitHere(db, "s", "tickets", "NS_CUSTOMER")).toBe(12)
      noteLiveCommit(db, "s", "tickets", new Map([["NS_CUSTOMER", 12]]), 2)
      expect(at(12)).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })
})
