import { describe, expect, it } from "vitest"
import { decodeEntities, hidingReason, visibleTextOf } from "./html.ts"

describe("visibleTextOf", () => {
  it("keeps hidden text apart, with the reason it is hidden", () => {
    const visible = visibleTextOf('a<!--c--><b hidden>h</b><span style="display: none !important">s</span>z')
    expect(visible.text).toBe("az")
    expect(visible.hidden).toEqual([
      { kind: "comment", reason: "HTML comment", text: "c" },
      { kind: "styled", reason: "<b> hidden attribute", text: "h" },
      { kind: "styled", reason: "<span> display:none", text: "s" },
    ])
  })

  it("hides nested content until the hiding element closes", () => {
    expect(visibleTextOf('<div style="opacity:0">x<div>y</div>z</div>w').text.trim()).toBe("w")
  })

  it("hides everything after an unclosed hidden element, as a browser would", () => {
    expect(visibleTextOf('ok <div style="display:none">rest').text.trim()).toBe("ok")
  })

  it("counts stripped tags and leaves plain text untouched", () => {
    expect(visibleTextOf("no tags here, a < b").tags).toBe(0)
    expect(visibleTextOf("<i>x</i>").tags).toBe(2)
  })
})

describe("hidingReason", () => {
  it("keeps visible styling visible", () => {
    expect(hidingReason(new Map([["style", "color:#333;background:#fff;font-size:14px"]]))).toBeUndefined()
    expect(hidingReason(new Map([["style", "position:absolute;left:10px"]]))).toBeUndefined()
  })

  it("sees near-white and transparent colours", () => {
    expect(hidingReason(new Map([["style", "color: rgb(255, 255, 255)"]]))).toBeDefined()
    expect(hidingReason(new Map([["style", "color:#fefefe"]]))).toBeDefined()
    expect(hidingReason(new Map([["style", "color: rgba(0,0,0,0)"]]))).toBeDefined()
  })
})

describe("decodeEntities", () => {
  it("decodes numeric and named entities and leaves unknown names", () => {
    expect(decodeEntities("&#x41;&#66;&auml;&nbsp;&unknown;&#0;")).toBe("ABä &unknown;\ufffd")
  })
})
