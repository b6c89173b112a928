import type { Schema, SchemaAST } from "effect"

/** A field of a payload marked by an annotation: property names, `[]` for every element of an array. */
export interface AnnotatedField<Mark> {
  readonly path: ReadonlyArray<string>
  readonly mark: Mark
}

const collect = <Mark>(
  ast: SchemaAST.AST,
  markOf: (ast: SchemaAST.AST) => Mark | undefined,
  path: ReadonlyArray<string>,
  out: Array<AnnotatedField<Mark>>,
  depth: number,
) => {
  const mark = markOf(ast)
  if (mark !== undefined) {
    out.push({ path, mark })
    return
  }
  if (depth > 16) return
  switch (ast._tag) {
    case "Objects":
      for (const property of ast.propertySignatures)
        collect(property.type, markOf, [...path, String(property.name)], out, depth + 1)
      break
    case "Arrays":
      for (const element of [...ast.elements, ...ast.rest])
        collect(element, markOf, [...path, "[]"], out, depth + 1)
      break
    case "Union":
      for (const member of ast.types) collect(member, markOf, path, out, depth + 1)
      break
    default:
      break
  }
}

/**
 * The fields of a payload schema that `markOf` finds a mark on, each path once (the outermost
 * marked field of a branch: what is inside a marked field is that field's).
 */
export const annotatedFieldsOf = <Mark>(
  schema: Schema.Top,
  markOf: (ast: SchemaAST.AST) => Mark | undefined,
): ReadonlyArray<AnnotatedField<Mark>> => {
  const found: Array<AnnotatedField<Mark>> = []
  collect(schema.ast, markOf, [], found, 0)
  const seen = new Set<string>()
  return found.filter((field) => {
    const key = field.path.join(".")
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
