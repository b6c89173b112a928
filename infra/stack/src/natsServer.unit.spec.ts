import { describe, expect, it } from "vitest"
import { assertReplicatedCapable, isReplicatedCapable, parseNatsServerVersion } from "./natsServer.ts"
import { uniqueNamespace, withSearchPath } from "./testing.ts"

describe("parseNatsServerVersion", () => {
  it("reads the version nats-server --version prints", () => {
    expect(parseNatsServerVersion("nats-server: v2.10.27\n")).toEqual({
      major: 2,
      minor: 10,
      patch: 27,
      text: "2.10.27",
    })
  })

  it("returns undefined for output without a version", () => {
    expect(parseNatsServerVersion("command not found")).toBeUndefined()
  })
})

describe("replicated capability", () => {
  it("refuses 2.9.x and 2.10.20-2.10.22, accepts 2.10.23 and later", () => {
    expect(isReplicatedCapable("2.9.10")).toBe(false)
    expect(isReplicatedCapable("2.10.22")).toBe(false)
    expect(isReplicatedCapable("2.10.23")).toBe(true)
    expect(isReplicatedCapable("2.11.0")).toBe(true)
    expect(isReplicatedCapable("3.0.0")).toBe(true)
  })

  it("explains why an old version is refused", () => {
    expect(() => assertReplicatedCapable("v2.9.10")).toThrow(
      /2\.9\.10.*>= 2\.10\.23.*compare-and-set.*nats-server\.md/,
    )
    expect(() => assertReplicatedCapable("2.10.27")).not.toThrow()
  })
})

describe("uniqueNamespace", () => {
  it("gives distinct lowercase tokens safe for subjects and stream names", () => {
    const a = uniqueNamespace()
    const b = uniqueNamespace()
    expect(a).not.toBe(b)
    expect(a).toMatch(/^t[0-9a-f]{12}$/)
    expect(uniqueNamespace("Orders_")).toMatch(/^orders_[0-9a-f]{12}$/)
  })

  it("rejects prefixes that would break a subject token", () => {
    expect(() => uniqueNamespace("a.b")).toThrow(/\[a-z0-9_-\]/)
  })
})

describe("withSearchPath", () => {
  it("adds the search_path option to a connection string", () => {
    const url = new URL(withSearchPath("postgres://postgres@127.0.0.1:5432/test", "t1"))
    expect(url.searchParams.get("options")).toBe("-c search_path=t1")
    expect(url.pathname).toBe("/test")
  })
})
