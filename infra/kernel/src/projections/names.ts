import { createHash } from "node:crypto"

const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/

/** True for a lowercase Postgres identifier that needs no quoting (letters, digits, '_', at most 63 bytes). */
export const isPlainIdentifier = (name: string): boolean => identifierPattern.test(name)

/** Throws a clear error when `name` cannot be used as a schema or table name. */
export const assertIdentifier = (what: string, name: string): string => {
  if (!isPlainIdentifier(name)) {
    throw new TypeError(
      `${what} ${JSON.stringify(name)} must be 1-63 characters of lowercase letters, digits or '_', not starting with a digit`,
    )
  }
  return name
}

/**
 * The schema of an agent's read models in a namespace, `<namespace>__<agent>`: two namespaces on
 * one database (a sandbox or a fork beside the live mesh) never share a table. A namespace holds
 * no '-' and no doubled '_', so the name reads one way only; a long one keeps a readable prefix
 * and gains a hash of the whole, within Postgres's 63 bytes and room for the rebuild schemas.
 */
export const readModelSchemaOf = (namespace: string, agent: string): string => {
  const candidate = `${namespace}__${agent.toLowerCase().replaceAll("-", "_")}`
  if (candidate.length <= 40) return candidate
  const hash = createHash("sha256").update(`${namespace}\u0000${agent}`).digest("hex").slice(0, 8)
  return `${candidate.slice(0, 31)}_${hash}`
}

/** Double-quotes an identifier for raw SQL. */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`

// Postgres truncates identifiers at 63 bytes; two projections must never share a derived schema,
// so a long name keeps a readable prefix and gains a hash of the whole.
const derivedSchema = (schema: string, infix: string, projection: string): string => {
  const candidate = `${schema}__${infix}_${projection.toLowerCase().replaceAll("-", "_")}`
  if (candidate.length <= 63) return candidate
  const hash = createHash("sha256")
    .update(`${schema}\u0000${infix}\u0000${projection}`)
    .digest("hex")
    .slice(0, 10)
  return `${candidate.slice(0, 52)}_${hash}`
}

/** The schema a rebuild of `projection` fills before it is swapped into `schema`. */
export const shadowSchemaName = (schema: string, projection: string): string =>
  derivedSchema(schema, "rebuild", projection)

/** The schema the replaced tables of `projection` move to during a swap (dropped in the same transaction). */
export const retiredSchemaName = (schema: string, projection: string): string =>
  derivedSchema(schema, "retired", projection)

/** The checkpoint key of a projection's rebuild; '@' cannot occur in a projection name. */
export const rebuildCheckpointKey = (projection: string): string => `${projection}@rebuild`
