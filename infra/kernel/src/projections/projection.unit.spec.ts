import { describe, expect, it } from "vitest"
import { rebuildCheckpointKey, retiredSchemaName, shadowSchemaName } from "./names.ts"
import { defaultBatchSize, defaultLingerMs, defineProjection, type ProjectionSpec } from "./projection.ts"
import type { MeshDefinition } from "./testing/ticketProjection.ts"

const spec: ProjectionSpec<MeshDefinition, unknown> = {
  name: "tickets",
  version: 1,
  streams: [{ domain: "customer" }],
  tables: ["tickets"],
  onFailure: "stop",
  createTables: async () => undefined,
  apply: async () => undefined,
}

describe("defineProjection", () => {
  it("fills in batching defaults", () => {
    const p = defineProjection(spec)
    expect(p.batchSize).toBe(defaultBatchSize)
    expect(p.lingerMs).toBe(defaultLingerMs)
  })

  it.each([
    [{ name: "tick.ets" }, /letters, digits/],
    [{ version: 0 }, /version 0 must be an integer from 1/],
    [{ streams: [] }, /reads no stream/],
    [
      { streams: [{ domain: "customer" }, { domain: "customer", filterSubject: "x" }] },
      /reads a domain stream twice/,
    ],
    [{ tables: [] }, /owns no table/],
    [{ tables: ["Tickets"] }, /lowercase letters/],
    [{ tables: ["tickets", "tickets"] }, /lists a table twice/],
    [{ tables: ["mesh_checkpoints"] }, /reserved by the kernel/],
    [{ batchSize: 0 }, /batchSize 0 must be >= 1/],
    [{ lingerMs: -1 }, /lingerMs -1 must be >= 0/],
  ] as const)("rejects %j", (override, message) => {
    expect(() =>
      defineProjection({ ...spec, ...override } as ProjectionSpec<MeshDefinition, unknown>),
    ).toThrow(message)
  })
})

describe("derived names", () => {
  it("gives a readable shadow and retired schema per projection", () => {
    expect(shadowSchemaName("customer_ops", "tickets")).toBe("customer_ops__rebuild_tickets")
    expect(retiredSchemaName("customer_ops", "open-tickets")).toBe("customer_ops__retired_open_tickets")
    expect(rebuildCheckpointKey("tickets")).toBe("tickets@rebuild")
  })

  it("keeps long names within Postgres' 63 bytes and distinct", () => {
    const schema = "a_rather_long_service_schema_name"
    const one = shadowSchemaName(schema, "a-projection-with-a-long-name-1")
    const two = shadowSchemaName(schema, "a-projection-with-a-long-name-2")
    expect(one.length).toBeLessThanOrEqual(63)
    expect(two.length).toBeLessThanOrEqual(63)
    expect(one).not.toBe(two)
  })
})
