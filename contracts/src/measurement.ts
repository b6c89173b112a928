import { type Schema, SchemaAST } from "effect"
import { annotatedFieldsOf } from "./annotatedFields.ts"

// Some fields of an event record how a decision was carried out rather than what was decided: how
// long a model call took. They differ on every run by nature, so a comparison of what two runs
// decided (a replay that decides a recorded command again) skips them. The marking sits on the
// field's schema, where it is declared, as personal data's does.

const annotationKey = "meshMeasurement"

/** Marks a field's schema as a measurement of how the decision was carried out. Apply it last. */
export const measurement = <S extends Schema.Top>(schema: S): S =>
  schema.annotate({ [annotationKey]: true }) as unknown as S

const isMeasurement = (ast: SchemaAST.AST): true | undefined =>
  SchemaAST.resolve(ast)?.[annotationKey] === true ||
  (ast.annotations as Record<string, unknown> | undefined)?.[annotationKey] === true
    ? true
    : undefined

/** Where the measurement fields of a payload schema sit: property names, `[]` for every element of an array. */
export const measurementFieldsOf = (schema: Schema.Top): ReadonlyArray<ReadonlyArray<string>> =>
  annotatedFieldsOf(schema, isMeasurement).map((field) => field.path)
