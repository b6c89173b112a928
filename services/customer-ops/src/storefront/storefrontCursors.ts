import { readModelSchemaOf } from "@mesh/kernel"
import type { Kysely, QueryCreator } from "kysely"
import type { CustomerOpsDatabase } from "../db/schema.ts"

/** The agent's own tables, in its read-model schema. */
export type CursorsDb = Pick<QueryCreator<CustomerOpsDatabase>, "selectFrom" | "insertInto">

/** The cursors of `agent` in its namespace's read-model schema. */
export const cursorsOf = (db: Kysely<unknown>, namespace: string, agent: string): CursorsDb =>
  (db as Kysely<CustomerOpsDatabase>).withSchema(readModelSchemaOf(namespace, agent))

/** Where the listing of a tenant's storefront was applied up to: 0 before its first batch. */
export const readCursor = async (db: CursorsDb, tenantId: string): Promise<number> => {
  const row = await db
    .selectFrom("storefront_cursors")
    .select("seq")
    .where("tenant_id", "=", tenantId)
    .executeTakeFirst()
  return row === undefined ? 0 : Number(row.seq)
}

/** Moves a tenant's cursor, once the batch before it is applied. */
export const writeCursor = async (
  db: CursorsDb,
  tenantId: string,
  seq: number,
  at: string,
): Promise<void> => {
  await db
    .insertInto("storefront_cursors")
    .values({ tenant_id: tenantId, seq, updated_at: at })
    .onConflict((oc) => oc.column("tenant_id").doUpdateSet({ seq, updated_at: at }))
    .execute()
}
