/**
 * Docs that compile: a README quotes a `// #region readme:<name>` … `// #endregion` block of a
 * source or test file between `<!-- snippet:<name>:start -->` and `<!-- snippet:<name>:end -->`,
 * and a unit test keeps the two equal with these.
 */

/** The `// #region readme:<name>` block of a source text, dedented, without its markers. */
export const sourceRegion = (source: string, name: string): string => {
  const lines = source.split("\n")
  const start = lines.findIndex((line) => line.trim() === `// #region readme:${name}`)
  const end = lines.findIndex((line, index) => index > start && line.trim() === "// #endregion")
  if (start === -1 || end === -1) throw new Error(`no "// #region readme:${name}" … "// #endregion" block`)
  const region = lines.slice(start + 1, end)
  const indent = Math.min(
    ...region.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length),
  )
  return region.map((line) => line.slice(indent)).join("\n")
}

/** The code a README quotes under `snippet:<name>` (inside its fence), or undefined when it quotes none. */
export const readmeQuote = (readme: string, name: string): string | undefined =>
  new RegExp(
    `<!-- snippet:${name}:start -->\\n\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\`\\n<!-- snippet:${name}:end -->`,
  ).exec(readme)?.[1]
