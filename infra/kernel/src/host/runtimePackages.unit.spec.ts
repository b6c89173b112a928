import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs"
import { dirname, join } from "node:path"
import { describe, expect, it } from "vitest"

// What an agent's image contains: the workspace packages an agent is built from, and everything
// they depend on at run time, found the way Node finds it (devDependencies stay behind).

const root = (() => {
  let dir = import.meta.dirname
  while (!existsSync(join(dir, "pnpm-workspace.yaml"))) dir = dirname(dir)
  return dir
})()

interface Manifest {
  readonly name: string
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
}

const manifestAt = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))

const workspacePackages = new Map<string, string>(
  [
    "contracts",
    ...["infra", "services", "tools"].flatMap((group) =>
      existsSync(join(root, group))
        ? readdirSync(join(root, group), { withFileTypes: true })
            .filter(
              (entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, "package.json")),
            )
            .map((entry) => join(group, entry.name))
        : [],
    ),
  ].map((path) => [manifestAt(join(root, path)).name, join(root, path)] as const),
)

/** Where `dependency` resolves from `fromDir`: the nearest `node_modules/<dependency>` above it. */
const resolveFrom = (fromDir: string, dependency: string): string | undefined => {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", dependency)
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate)
    if (dirname(dir) === dir) return undefined
  }
}

/** Every package reachable from `start` through `dependencies` and installed optional ones. */
const runtimeClosure = (start: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const seen = new Map<string, string>()
  const queue = start.map((name) => [name, workspacePackages.get(name)!] as const)
  while (queue.length > 0) {
    const [name, dir] = queue.shift()!
    if (seen.has(name)) continue
    seen.set(name, dir)
    const manifest = manifestAt(dir)
    for (const dependency of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      const resolved = resolveFrom(dir, dependency)
      if (resolved !== undefined) queue.push([dependency, resolved])
      else if (manifest.dependencies?.[dependency] !== undefined)
        throw new Error(`${name} depends on ${dependency}, which is not installed`)
    }
  }
  return seen
}

// The packages agents are made of: the runtime under infra/ and contracts, and every deployable
// agent under services/. The local stack (@mesh/stack) and the tools are for development only.
const agentBuildingBlocks = [...workspacePackages.entries()]
  .filter(([name, dir]) => {
    const relative = dir.slice(root.length + 1)
    return (
      (relative.startsWith("infra/") || relative.startsWith("services/") || relative === "contracts") &&
      name !== "@mesh/stack"
    )
  })
  .map(([name]) => name)

describe("what an agent's image contains", () => {
  const closure = runtimeClosure(agentBuildingBlocks)

  it("covers the runtime packages and what they load", () => {
    expect(agentBuildingBlocks).toEqual(
      expect.arrayContaining(["@mesh/kernel", "@mesh/eventlog", "@mesh/sql"]),
    )
    expect(closure.has("kysely")).toBe(true)
    expect(closure.has("@nats-io/transport-node")).toBe(true)
  })

  it("holds no container tooling and no local stack", () => {
    const offending = [...closure.keys()].filter(
      (name) => name === "testcontainers" || name === "dockerode" || name === "@mesh/stack",
    )
    expect(offending).toEqual([])
  })

  it("has no runtime package that declares testcontainers, directly or through a workspace package", () => {
    const declaring = [...workspacePackages.entries()]
      .filter(([name]) => closure.has(name))
      .filter(([, dir]) => manifestAt(dir).dependencies?.testcontainers !== undefined)
      .map(([name]) => name)
    expect(declaring).toEqual([])
  })
})
