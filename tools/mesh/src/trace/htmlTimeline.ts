import type { CausalTrace, TraceNode } from "./causalTree.ts"

// A chain as one self-contained HTML page, for a bug report or a post-mortem: a row per event in
// causal order (indented under its cause), a time axis from the chain's first event to its last,
// and on each row a bar from the cause's time to the event's, coloured by writer. No script and
// nothing fetched: it opens from a file, a mail or a ticket as it is. Pure, like the tree.

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  )

// Distinct, readable on white; a writer keeps its colour by order of first appearance.
const palette = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#17becf",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
]

/** Where on the axis a time falls, in percent, kept inside it. */
const percentOf = (ms: number, durationMs: number): number =>
  durationMs <= 0 ? 0 : Math.min(100, Math.max(0, (ms / durationMs) * 100))

const rounded = (value: number): string => value.toFixed(2)

/** The trace as a complete HTML document. */
export const renderTraceHtml = (trace: CausalTrace): string => {
  const colourOf = new Map(trace.writers.map((w, i) => [w, palette[i % palette.length]!]))
  const rows: Array<string> = []
  const row = (node: TraceNode, depth: number) => {
    const e = node.event
    const causeMs = node.afterCauseMs === null ? node.atMs : node.atMs - node.afterCauseMs
    const left = percentOf(causeMs, trace.durationMs)
    const width = Math.max(0.4, percentOf(node.atMs, trace.durationMs) - left)
    const colour = colourOf.get(node.by) ?? palette[palette.length - 1]!
    const label = `${e.type} ${e.aggregateType}/${e.aggregateId}`
    const title = `${label} by ${node.by} at +${node.atMs} ms${node.afterCauseMs === null ? "" : ` (+${node.afterCauseMs} ms after its cause)`} [${node.stream}#${node.sequence}] ${node.detail}`
    rows.push(
      `<tr title="${escapeHtml(title)}"><td class="event" style="padding-left:${0.4 + depth * 1.1}em"><span class="type">${escapeHtml(e.type)}</span> <span class="aggregate">${escapeHtml(`${e.aggregateType}/${e.aggregateId}`)}</span><div class="detail">${escapeHtml(node.detail)}</div></td>` +
        `<td class="by" style="color:${colour}">${escapeHtml(node.by)}</td><td class="at">+${node.atMs} ms</td>` +
        `<td class="lane"><div class="bar" style="left:${rounded(left)}%;width:${rounded(width)}%;background:${colour}"></div></td></tr>`,
    )
    for (const child of node.children) row(child, depth + 1)
  }
  for (const root of trace.roots) row(root, 0)
  const legend = trace.writers
    .map((w) => `<span class="writer"><i style="background:${colourOf.get(w)}"></i>${escapeHtml(w)}</span>`)
    .join(" ")
  const title = `trace ${trace.correlationId}`
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    "<style>",
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}",
    "h1{font-size:1.2em;margin:0 0 .3em}",
    ".summary{color:#555;margin-bottom:.8em}",
    ".writer{margin-right:1em;white-space:nowrap}.writer i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px}",
    "table{border-collapse:collapse;width:100%}",
    "td{border-bottom:1px solid #eee;vertical-align:top;padding:.25em .4em}",
    ".type{font-weight:600}.aggregate{color:#555}.detail{color:#666;font-size:.85em;max-width:40em;overflow-wrap:anywhere}",
    ".by{white-space:nowrap}.at{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}",
    ".lane{position:relative;width:40%;min-width:12em}.bar{position:absolute;top:.6em;height:.7em;border-radius:2px;opacity:.8}",
    "</style></head><body>",
    `<h1>${escapeHtml(title)}</h1>`,
    `<div class="summary">${trace.events} events in ${trace.durationMs} ms since ${escapeHtml(trace.startedAt ?? "-")}${trace.causesOutside > 0 ? `; ${trace.causesOutside} name a cause outside this chain (shown as roots)` : ""}</div>`,
    `<div class="legend">${legend}</div>`,
    "<table><thead><tr><th>event</th><th>by</th><th>at</th><th>from its cause to it</th></tr></thead><tbody>",
    ...rows,
    "</tbody></table></body></html>",
  ].join("\n")
}
