// Turning HTML from emails and knowledge articles into the text a person reading it would see. A
// small tokenizer, not a browser: it errs towards removing text a browser would hide.

/** Text a reader would not see, removed from the visible text, kept so detectors can read it too. */
export interface HiddenContent {
  readonly kind: "comment" | "styled" | "script"
  /** Why it is hidden: the tag and the rule that hides it. */
  readonly reason: string
  readonly text: string
}

/** The visible text of some HTML, and what was taken out. */
export interface VisibleText {
  readonly text: string
  readonly hidden: ReadonlyArray<HiddenContent>
  /** How many tags were stripped. */
  readonly tags: number
}

// Elements whose content is never shown as text.
const nonRendered = new Set([
  "script",
  "style",
  "template",
  "noscript",
  "head",
  "title",
  "iframe",
  "object",
  "svg",
])
const voidElements = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "param",
  "source",
  "track",
  "wbr",
])
// Tags that start a new line when the page is rendered.
const blockElements = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "br",
  "dd",
  "div",
  "dl",
  "dt",
  "footer",
  "form",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hr",
  "li",
  "main",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "table",
  "td",
  "th",
  "tr",
  "ul",
])
const hidingClasses =
  /(^|\s)(hidden|hide|d-none|sr-only|visually-hidden|screen-reader-text|invisible|display-none)(\s|$)/i

const token =
  /<!--([\s\S]*?)(?:-->|$)|<!\[CDATA\[([\s\S]*?)(?:\]\]>|$)|<![^>]*>|<\?[^>]*>|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^<>]*?)?)\s*(\/?)>/g
const attribute = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g

const attributesOf = (source: string): ReadonlyMap<string, string> => {
  const found = new Map<string, string>()
  for (const match of source.matchAll(attribute)) {
    found.set(match[1]!.toLowerCase(), match[2] ?? match[3] ?? match[4] ?? "")
  }
  return found
}

// A length of at most one pixel (or zero in any unit) hides text set in it.
const isTiny = (value: string): boolean => {
  const match = /^\s*(-?\d*\.?\d+)\s*(px|pt|em|rem|%|vh|vw|ex|ch)?\s*$/i.exec(value)
  if (match === null) return false
  const size = Number(match[1])
  const unit = (match[2] ?? "px").toLowerCase()
  return (
    size <= 0 ||
    ((unit === "px" || unit === "pt") && size <= 1) ||
    (unit !== "%" && unit !== "px" && unit !== "pt" && size < 0.1)
  )
}

const isFarNegative = (value: string): boolean => {
  const match = /^\s*-(\d*\.?\d+)\s*(px|pt|em|rem|%|vh|vw)?/i.exec(value)
  return match !== null && Number(match[1]) >= (match[2] === undefined || /px|pt/i.test(match[2]) ? 100 : 10)
}

// White and near-white text, or text no one can see through.
const isInvisibleColour = (value: string): boolean => {
  const colour = value
    .trim()
    .toLowerCase()
    .replace(/\s*!important$/, "")
  if (colour === "white" || colour === "transparent" || colour === "snow" || colour === "ghostwhite")
    return true
  const hex = /^#([0-9a-f]{3,8})$/.exec(colour)?.[1]
  if (hex !== undefined) {
    const full = hex.length <= 4 ? [...hex].map((digit) => digit + digit).join("") : hex
    const channels = [0, 2, 4].map((at) => Number.parseInt(full.slice(at, at + 2), 16))
    const alpha = full.length === 8 ? Number.parseInt(full.slice(6, 8), 16) : 255
    return alpha === 0 || channels.every((channel) => channel >= 0xf0)
  }
  const rgb = /^rgba?\(([^)]*)\)$/.exec(colour)?.[1]
  if (rgb !== undefined) {
    const parts = rgb.split(/[\s,/]+/).filter((part) => part !== "")
    const alpha =
      parts[3] === undefined ? 1 : Number.parseFloat(parts[3]) / (parts[3].endsWith("%") ? 100 : 1)
    return alpha === 0 || parts.slice(0, 3).every((part) => Number.parseFloat(part) >= 240)
  }
  return false
}

/** Why inline style or attributes hide an element, or undefined when it is visible. */
export const hidingReason = (attributes: ReadonlyMap<string, string>): string | undefined => {
  if (attributes.has("hidden")) return "hidden attribute"
  if (attributes.get("aria-hidden")?.trim().toLowerCase() === "true") return "aria-hidden"
  if (hidingClasses.test(attributes.get("class") ?? "")) return `class ${attributes.get("class")}`
  for (const name of ["width", "height"]) {
    const value = attributes.get(name)
    if (value !== undefined && isTiny(value)) return `${name}=${value}`
  }
  const fontColour = attributes.get("color")
  if (fontColour !== undefined && isInvisibleColour(fontColour)) return `color=${fontColour}`
  const style = attributes.get("style")
  if (style === undefined) return undefined
  const declarations = new Map<string, string>()
  for (const declaration of style.split(";")) {
    const colon = declaration.indexOf(":")
    if (colon < 0) continue
    declarations.set(
      declaration.slice(0, colon).trim().toLowerCase(),
      declaration
        .slice(colon + 1)
        .trim()
        .toLowerCase()
        .replace(/\s*!important$/, ""),
    )
  }
  const get = (name: string): string => declarations.get(name) ?? ""
  if (get("display") === "none") return "display:none"
  if (get("visibility") === "hidden" || get("visibility") === "collapse") return "visibility:hidden"
  if (get("content-visibility") === "hidden") return "content-visibility:hidden"
  if (declarations.has("opacity") && Number.parseFloat(get("opacity")) <= 0.05) return "opacity:0"
  if (declarations.has("font-size") && isTiny(get("font-size"))) return `font-size:${get("font-size")}`
  if (declarations.has("color") && isInvisibleColour(get("color"))) return `color:${get("color")}`
  if (
    /^(0|0px)?\s*$/.test(get("line-height")) &&
    declarations.has("line-height") &&
    get("overflow") === "hidden"
  )
    return "line-height:0"
  for (const name of ["width", "height", "max-width", "max-height"]) {
    if (declarations.has(name) && isTiny(get(name))) return `${name}:${get(name)}`
  }
  if (/^(absolute|fixed|relative)$/.test(get("position"))) {
    for (const side of ["left", "top", "right", "bottom"]) {
      if (isFarNegative(get(side))) return `off-screen ${side}:${get(side)}`
    }
  }
  if (isFarNegative(get("text-indent"))) return `text-indent:${get("text-indent")}`
  if (isFarNegative(get("margin-left")) || isFarNegative(get("margin-top"))) return "off-screen margin"
  if (/rect\(\s*0(px)?[\s,]+0(px)?[\s,]+0(px)?[\s,]+0(px)?\s*\)/.test(get("clip")))
    return "clip:rect(0,0,0,0)"
  if (/inset\(\s*(50|100)%/.test(get("clip-path"))) return "clip-path:inset"
  if (/scale\(\s*0(\.0+)?\s*(,\s*0(\.0+)?\s*)?\)/.test(get("transform"))) return "transform:scale(0)"
  return undefined
}

interface OpenElement {
  readonly name: string
  readonly hidden: HiddenContent["kind"] | undefined
  readonly reason: string
}

/**
 * The text a browser would show: comments, non-rendered and styled-hidden elements go (with their
 * text, kept in `hidden`), other tags are stripped, block tags become line breaks. Entities are left
 * for the caller to decode. Text that merely contains a `<` is left alone.
 */
export const visibleTextOf = (html: string): VisibleText => {
  const hidden: Array<{ kind: HiddenContent["kind"]; reason: string; text: string }> = []
  const stack: Array<OpenElement> = []
  let text = ""
  let tags = 0
  let last = 0
  const hiddenAncestor = (): OpenElement | undefined => stack.find((element) => element.hidden !== undefined)
  const emit = (chunk: string): void => {
    if (chunk === "") return
    const ancestor = hiddenAncestor()
    if (ancestor === undefined) {
      text += chunk
      return
    }
    const open = hidden.at(-1)
    if (open !== undefined && open.reason === ancestor.reason && open.kind === ancestor.hidden)
      open.text += chunk
    else hidden.push({ kind: ancestor.hidden!, reason: ancestor.reason, text: chunk })
  }
  // One line break between blocks, however many tags open and close there.
  const emitBreak = (): void => {
    if (hiddenAncestor() !== undefined || !/\n[^\S\n]*$/.test(text)) emit("\n")
  }
  for (const match of html.matchAll(token)) {
    emit(html.slice(last, match.index))
    last = match.index + match[0].length
    if (match[1] !== undefined) {
      hidden.push({ kind: "comment", reason: "HTML comment", text: match[1] })
      continue
    }
    if (match[2] !== undefined) {
      emit(match[2])
      continue
    }
    const name = match[4]?.toLowerCase()
    if (name === undefined) {
      tags++
      continue
    }
    tags++
    const closing = match[3] === "/"
    if (closing) {
      const at = stack.findLastIndex((element) => element.name === name)
      if (at >= 0) stack.length = at
      if (blockElements.has(name)) emitBreak()
      continue
    }
    if (blockElements.has(name)) emitBreak()
    if (voidElements.has(name) || match[6] === "/") continue
    const attributes = attributesOf(match[5] ?? "")
    const styleReason = hidingReason(attributes)
    stack.push(
      nonRendered.has(name)
        ? { name, hidden: "script", reason: `<${name}> element` }
        : styleReason !== undefined
          ? { name, hidden: "styled", reason: `<${name}> ${styleReason}` }
          : { name, hidden: undefined, reason: "" },
    )
  }
  emit(html.slice(last))
  return {
    text,
    hidden: hidden
      .map((content) => ({ ...content, text: content.text.trim() }))
      .filter((content) => content.text !== ""),
    tags,
  }
}

const namedEntities: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  ensp: " ",
  emsp: " ",
  thinsp: " ",
  copy: "©",
  reg: "®",
  trade: "™",
  euro: "€",
  pound: "£",
  yen: "¥",
  cent: "¢",
  sect: "§",
  deg: "°",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  sbquo: "‚",
  ldquo: "“",
  rdquo: "”",
  bdquo: "„",
  laquo: "«",
  raquo: "»",
  bull: "•",
  middot: "·",
  times: "×",
  divide: "÷",
  plusmn: "±",
  frac12: "½",
  frac14: "¼",
  frac34: "¾",
  sup2: "²",
  iexcl: "¡",
  iquest: "¿",
  shy: "\u00ad",
  zwj: "\u200d",
  zwnj: "\u200c",
  lrm: "\u200e",
  rlm: "\u200f",
  auml: "ä",
  ouml: "ö",
  uuml: "ü",
  Auml: "Ä",
  Ouml: "Ö",
  Uuml: "Ü",
  szlig: "ß",
  aacute: "á",
  eacute: "é",
  iacute: "í",
  oacute: "ó",
  uacute: "ú",
  Aacute: "Á",
  Eacute: "É",
  Iacute: "Í",
  Oacute: "Ó",
  Uacute: "Ú",
  agrave: "à",
  egrave: "è",
  igrave: "ì",
  ograve: "ò",
  ugrave: "ù",
  Agrave: "À",
  Egrave: "È",
  acirc: "â",
  ecirc: "ê",
  icirc: "î",
  ocirc: "ô",
  ucirc: "û",
  Ecirc: "Ê",
  atilde: "ã",
  otilde: "õ",
  ntilde: "ñ",
  Ntilde: "Ñ",
  ccedil: "ç",
  Ccedil: "Ç",
  euml: "ë",
  iuml: "ï",
  oslash: "ø",
  aring: "å",
  Aring: "Å",
  aelig: "æ",
  oelig: "œ",
  yuml: "ÿ",
}

const entity = /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g

const fromCodePoint = (code: number): string =>
  Number.isInteger(code) && code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
    ? String.fromCodePoint(code)
    : "\ufffd"

/** Decodes numeric and the common named HTML entities; an unknown name stays as written. */
export const decodeEntities = (text: string): string =>
  text.replace(entity, (whole, body: string) => {
    if (body.startsWith("#x") || body.startsWith("#X"))
      return fromCodePoint(Number.parseInt(body.slice(2), 16))
    if (body.startsWith("#")) return fromCodePoint(Number.parseInt(body.slice(1), 10))
    return namedEntities[body] ?? namedEntities[body.toLowerCase()] ?? whole
  })
