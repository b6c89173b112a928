import { describe, expect, it } from "vitest"
import { initialStepper, pressKey, renderStep, type Step, stateChanges } from "./stepper.ts"

const step = (sequence: number, extra: Partial<Step> = {}): Step => ({
  sequence,
  aggregate: "ticket/tk-1",
  version: sequence,
  type: "TicketTriaged",
  occurredAt: "2026-12-03T09:00:00.000Z",
  by: "agent:customer-ops",
  payload: '{"intent":"refund"}',
  before: '{"status":"open","triaged":[]}',
  after: '{"status":"open","triaged":["m1"]}',
  ...extra,
})
const steps = [step(3), step(7), step(12)]

describe("the replay's step mode", () => {
  it("moves forward and back within the steps, to the first and the last", () => {
    const keys = (...pressed: ReadonlyArray<string>) =>
      pressed.reduce((s, k) => pressKey(s, k, steps), initialStepper).at
    expect(keys("n")).toBe(1)
    expect(keys("n", "n", "n", "n")).toBe(2)
    expect(keys("\x1b[C", "\x1b[D")).toBe(0)
    expect(keys("p")).toBe(0)
    expect(keys("G")).toBe(2)
    expect(keys("G", "0")).toBe(0)
  })

  it("goes to the first step at or after a typed sequence", () => {
    const go = (...pressed: ReadonlyArray<string>) =>
      pressed.reduce((s, k) => pressKey(s, k, steps), initialStepper)
    expect(go("g", "7", "\r").at).toBe(1)
    expect(go("g", "8", "\r").at).toBe(2)
    expect(go("g", "9", "9", "\r").at).toBe(2)
    expect(go("g", "1", "2", "\x7f", "\r").at).toBe(0)
    expect(go("g", "7").typing).toBe("7")
    expect(go("g", "7", "\x1b")).toMatchObject({ at: 0, typing: null, done: false })
  })

  it("quits on q, Escape or Ctrl-C", () => {
    for (const key of ["q", "\x1b", "\x03"]) expect(pressKey(initialStepper, key, steps).done).toBe(true)
  })

  it("says what an event changed in its aggregate's state, leaf by leaf", () => {
    expect(stateChanges('{"a":1,"b":{"c":2,"d":[1]}}', '{"a":1,"b":{"c":3,"e":true}}')).toEqual([
      "~ b.c: 2 → 3",
      "- b.d: [1]",
      "+ b.e: true",
    ])
    expect(stateChanges(null, '{"a":1}')).toEqual(['+ state: {"a":1}'])
    expect(stateChanges('{"a":1}', '{"a":1}')).toEqual([])
  })

  it("shows the step, its state changes and its decision's inputs", () => {
    const decided = step(5, {
      decision: {
        decisionId: "d-1",
        skill: "triageTicket",
        promptVersion: "triage-3",
        input: '{"body":"refund please"}',
        retrieved: ["order-1001"],
        output: '{"intent":"refund"}',
      },
    })
    const lines = renderStep([decided], initialStepper, 200)
    expect(lines.slice(0, 2)).toEqual([
      "step 1 of 1  #5  2026-12-03T09:00:00.000Z",
      "TicketTriaged on ticket/tk-1 v5 by agent:customer-ops",
    ])
    expect(lines).toContain('  ~ triaged: [] → ["m1"]')
    expect(lines).toContain("decision d-1: triageTicket, prompt triage-3")
    expect(lines).toContain('  input {"body":"refund please"}')
    expect(lines).toContain("  retrieved order-1001")
    expect(renderStep([decided], { at: 0, typing: "12", done: false }).at(-1)).toBe("go to sequence: 12_")
    expect(renderStep([decided], initialStepper, 20).every((l) => l.length <= 20)).toBe(true)
  })
})
