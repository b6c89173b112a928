/**
 * Generates the parts of contracts/README.md that must never drift from the code: the event
 * catalogue table (from `meshEventDefinitions`) and code snippets (from `// #region readme:<name>`
 * blocks in test files, so every snippet is code that runs).
 *
 *   node contracts/scripts/catalogue.ts           prints the catalogue table
 *   node contracts/scripts/catalogue.ts --write   rewrites every generated section of the README
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { EventDefinition } from "../src/catalog.ts"
import { defaultNamespace, meshEventDefinitions, Subjects } from "../src/index.ts"

/** The contracts package directory. */
export const packageDir = fileURLToPath(new URL("..", import.meta.url))

/** The README whose generated sections this script maintains. */
export const readmePath = `${packageDir}README.md`

/** The command that regenerates the README, for messages that ask for it. */
export const regenerateCommand = "node contracts/scripts/catalogue.ts --write"

const cell = (text: string): string => text.replaceAll("|", "\\|")

const width = (text: string): number => [...text].length

/**
 * The subject pattern of an event's aggregate, e.g. `mesh.customer.ticket.<id>`. A register change
 * is the value of a key in the register bucket, so its subject is the key's.
 */
export const subjectPattern = (definition: EventDefinition): string =>
  definition.domain === "registers" && definition.aggregateType === "*"
    ? `$KV.${Subjects.registerBucket(defaultNamespace)}.<register>.<id>.<site>`
    : `${defaultNamespace}.${definition.domain}.${definition.aggregateType === "*" ? "<agent>" : definition.aggregateType}.<id>`

/** Renders the markdown catalogue table of event definitions, one row per event type. */
export const renderCatalogue = (
  definitions: ReadonlyArray<EventDefinition> = meshEventDefinitions,
): string => {
  const header = ["Event", "Subject", "Producer", "Consumers", "Version", "Summary"]
  const rows = definitions.map((definition) => [
    `\`${definition.type}\``,
    `\`${subjectPattern(definition)}\``,
    definition.producer,
    definition.consumers.length === 0 ? "—" : definition.consumers.join(", "),
    String(definition.version),
    definition.summary,
  ])
  const cells = [header, ...rows].map((row) => row.map(cell))
  // Columns are padded as biome formats markdown tables, so that the formatter leaves the README alone.
  const widths = header.map((_, column) => Math.max(3, ...cells.map((row) => width(row[column] ?? ""))))
  const line = (row: ReadonlyArray<string>) =>
    `| ${row.map((text, column) => text + " ".repeat((widths[column] ?? 0) - width(text))).join(" | ")} |`
  const [head = [], ...body] = cells
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n")
}

/** A README snippet and the test file region it is copied from. */
export interface SnippetSource {
  readonly name: string
  /** Path relative to the contracts package. */
  readonly file: string
}

/** Every snippet the README shows; each lives in a test so that it keeps compiling and passing. */
export const snippetSources: ReadonlyArray<SnippetSource> = [
  { name: "upcasting", file: "src/catalog.unit.spec.ts" },
  { name: "wire", file: "src/wire.unit.spec.ts" },
  { name: "testing", file: "src/testing/arbitraries.unit.spec.ts" },
]

const dedent = (lines: ReadonlyArray<string>): ReadonlyArray<string> => {
  const indents = lines.filter((line) => line.trim() !== "").map((line) => /^ */.exec(line)?.[0].length ?? 0)
  const indent = Math.min(...indents)
  return lines.map((line) => line.slice(indent))
}

/** Extracts the `// #region readme:<name>` block of a source text as a fenced TypeScript block. */
export const extractSnippet = (source: string, name: string): string => {
  const lines = source.split("\n")
  const start = lines.findIndex((line) => line.trim() === `// #region readme:${name}`)
  const end = lines.findIndex((line, index) => index > start && line.trim() === "// #endregion")
  if (start === -1 || end === -1) throw new Error(`no "// #region readme:${name}" ... "// #endregion" block`)
  return ["```ts", ...dedent(lines.slice(start + 1, end)), "```"].join("\n")
}

/** The generated content of every README section, by marker name. */
export const generatedSections = (): ReadonlyMap<string, string> =>
  new Map([
    ["catalogue", renderCatalogue()],
    ...snippetSources.map(
      ({ name, file }) =>
        [`snippet:${name}`, extractSnippet(readFileSync(`${packageDir}${file}`, "utf8"), name)] as const,
    ),
  ])

const markers = (name: string) => ({ start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` })

/** The current content between a section's markers, or undefined when the markers are missing. */
export const readSection = (readme: string, name: string): string | undefined => {
  const { start, end } = markers(name)
  const from = readme.indexOf(start)
  const to = readme.indexOf(end, from)
  if (from === -1 || to === -1) return undefined
  return readme
    .slice(from + start.length, to)
    .replace(/^\n/, "")
    .replace(/\n$/, "")
}

/** Replaces the content between a section's markers; the markers must already be in the README. */
export const writeSection = (readme: string, name: string, content: string): string => {
  const { start, end } = markers(name)
  const from = readme.indexOf(start)
  const to = readme.indexOf(end, from)
  if (from === -1 || to === -1) throw new Error(`the README has no ${start} ... ${end} markers`)
  return `${readme.slice(0, from + start.length)}\n${content}\n${readme.slice(to)}`
}

if (import.meta.main) {
  if (process.argv.includes("--write")) {
    let readme = readFileSync(readmePath, "utf8")
    for (const [name, content] of generatedSections()) readme = writeSection(readme, name, content)
    writeFileSync(readmePath, readme)
    console.log(`rewrote the generated sections of ${readmePath}`)
  } else {
    console.log(renderCatalogue())
  }
}
