import { MeshNamespace } from "@mesh/eventlog"
import { readModelSchemaOf, runMigrations } from "@mesh/kernel"
import { Effect } from "effect"
import type { Kysely, Migration } from "kysely"
import { customerOpsName } from "../config.ts"

/** The migrations of the agent's own tables (`db/schema.ts`), by timestamp. */
export const customerOpsMigrations: Readonly<Record<string, Migration>> = {
  "2026-12-02T1500_storefront_cursors": {
    up: async (db) => {
      await db.schema
        .createTable("storefront_cursors")
        .addColumn("tenant_id", "text", (c) => c.primaryKey())
        .addColumn("seq", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute()
    },
    down: async (db) => {
      await db.schema.dropTable("storefront_cursors").execute()
    },
  },
}

/** kysely's bookkeeping table for {@link customerOpsMigrations}, beside the kernel's in the same schema. */
export const customerOpsMigrationTable = "customer_ops_migration"

/** Brings the agent's own tables in its namespace's read-model schema to their latest migration. */
export const migrateCustomerOps = (db: Kysely<unknown>) =>
  Effect.flatMap(MeshNamespace, ({ name }) =>
    runMigrations(db, {
      schema: readModelSchemaOf(name, customerOpsName),
      migrations: customerOpsMigrations,
      tableName: customerOpsMigrationTable,
    }),
  ).pipe(Effect.asVoid)
