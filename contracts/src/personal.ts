import { type Schema, SchemaAST } from "effect"
import { annotatedFieldsOf } from "./annotatedFields.ts"

// Personal data is marked where it is declared: a contract field annotated `personal` names what
// a customer wrote or who they are. What leaves the mesh as a copy of its history (`mesh export`)
// has those fields redacted, whatever the event, because the marking travels with the schema and
// the redaction reads it from there: a new personal field is redacted the day it is declared.

/**
 * How a personal field is redacted, keeping the event valid under its schema:
 * - `text`: a string, replaced by a token that is the same for the same value within one redaction
 *   (so that one customer's events still read as one customer's) and reveals nothing of it;
 * - `content`: recorded decision content (`Inline` or `Stored`), reduced to its hash and size
 *   (`HashOnly`), as the hash-only content policy records it in the first place;
 * - `value`: any value of a field that also admits null, replaced by null (the digest beside it stays).
 */
export type PersonalKind = "text" | "content" | "value"

const annotationKey = "meshPersonal"

/** Marks a field's schema as personal data, redacted as `kind` says. Apply it last (after checks). */
export const personal =
  (kind: PersonalKind) =>
  <S extends Schema.Top>(schema: S): S =>
    schema.annotate({ [annotationKey]: kind }) as unknown as S

/** Where a personal field sits in a payload: property names, `[]` for every element of an array. */
export interface PersonalField {
  readonly path: ReadonlyArray<string>
  readonly kind: PersonalKind
}

const kindOf = (ast: SchemaAST.AST): PersonalKind | undefined => {
  // On a schema with checks the annotation sits on its last check, where `resolve` finds it.
  const kind =
    SchemaAST.resolve(ast)?.[annotationKey] ??
    (ast.annotations as Record<string, unknown> | undefined)?.[annotationKey]
  return kind === "text" || kind === "content" || kind === "value" ? kind : undefined
}

/** The personal fields of a payload schema, each once. */
export const personalFieldsOf = (schema: Schema.Top): ReadonlyArray<PersonalField> =>
  annotatedFieldsOf(schema, kindOf).map(({ path, mark }) => ({ path, kind: mark }))

/** Names a redacted value: the same text gives the same token within one redaction. */
export type RedactText = (text: string) => string

const redactValue = (value: unknown, kind: PersonalKind, redactText: RedactText): unknown => {
  if (value === null || value === undefined) return value
  switch (kind) {
    case "text":
      return typeof value === "string" ? redactText(value) : value
    case "content": {
      const content = value as { _tag?: unknown; sha256?: unknown; bytes?: unknown }
      return content._tag === "Inline" || content._tag === "Stored"
        ? { _tag: "HashOnly", sha256: content.sha256, bytes: content.bytes }
        : value
    }
    case "value":
      return null
  }
}

const redactAt = (
  value: unknown,
  path: ReadonlyArray<string>,
  kind: PersonalKind,
  redactText: RedactText,
): unknown => {
  if (path.length === 0) return redactValue(value, kind, redactText)
  const [head, ...rest] = path
  if (head === "[]")
    return Array.isArray(value) ? value.map((item) => redactAt(item, rest, kind, redactText)) : value
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value
  const record = value as Record<string, unknown>
  if (!(head! in record)) return value
  return { ...record, [head!]: redactAt(record[head!], rest, kind, redactText) }
}

/**
 * A payload with its personal fields redacted; a field it does not have (an older version of the
 * event, an optional field left out) is left as it is.
 */
export const redactPersonal = (
  payload: unknown,
  fields: ReadonlyArray<PersonalField>,
  redactText: RedactText,
): unknown =>
  fields.reduce((redacted, field) => redactAt(redacted, field.path, field.kind, redactText), payload)
