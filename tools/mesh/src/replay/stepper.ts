// The step mode of `mesh replay --step`: one replayed event at a time, moving forward, back and to
// any sequence, with what the event changed in its aggregate's state and, when a model decided it,
// the decision's inputs. Pure: the handler feeds it keys and prints what it renders.

/** One replayed event, as the step mode shows it. */
export interface Step {
  readonly sequence: number
  readonly aggregate: string
  readonly version: number
  readonly type: string
  readonly occurredAt: string
  readonly by: string
  /** The event's payload as JSON. */
  readonly payload: string
  /** The aggregate's state before and after the event, as canonical JSON (null: none, or no decider). */
  readonly before: string | null
  readonly after: string | null
  /** The recorded decision the event names (its `decisionId`, or its cause's), when the log holds it. */
  readonly decision?: {
    readonly decisionId: string
    readonly skill: string
    readonly promptVersion: string
    readonly input: string | null
    readonly retrieved: ReadonlyArray<string>
    readonly output: string | null
  }
}

/** Where the step mode is: the step shown, and a sequence being typed after `g`. */
export interface StepperState {
  readonly at: number
  readonly typing: string | null
  readonly done: boolean
}

export const initialStepper: StepperState = { at: 0, typing: null, done: false }

/**
 * The step mode's answer to a key: `n`, space, `j` or → forward; `p`, `k` or ← back; `0` or Home
 * the first; `G` or End the last; `g` then a sequence and Enter the first step at or after it; `q`,
 * Escape or Ctrl-C quits.
 */
export const pressKey = (state: StepperState, key: string, steps: ReadonlyArray<Step>): StepperState => {
  const last = Math.max(0, steps.length - 1)
  if (state.typing !== null) {
    if (/^\d$/.test(key)) return { ...state, typing: state.typing + key }
    if (key === "\x7f" || key === "\b") return { ...state, typing: state.typing.slice(0, -1) }
    if (key === "\r" || key === "\n") {
      const target = Number(state.typing)
      const found = steps.findIndex((s) => s.sequence >= target)
      return { at: state.typing === "" ? state.at : found === -1 ? last : found, typing: null, done: false }
    }
    if (key === "\x1b" || key === "\x03") return { ...state, typing: null }
    return state
  }
  switch (key) {
    case "n":
    case " ":
    case "j":
    case "\x1b[C":
      return { ...state, at: Math.min(last, state.at + 1) }
    case "p":
    case "k":
    case "\x1b[D":
      return { ...state, at: Math.max(0, state.at - 1) }
    case "0":
    case "\x1b[H":
      return { ...state, at: 0 }
    case "G":
    case "\x1b[F":
      return { ...state, at: last }
    case "g":
      return { ...state, typing: "" }
    case "q":
    case "\x1b":
    case "\x03":
      return { ...state, done: true }
    default:
      return state
  }
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

const parse = (json: string | null): unknown => (json === null ? undefined : JSON.parse(json))

/**
 * What changed between two states, one line per leaf: `path: before → after` (`+` added, `-`
 * removed). Arrays compare whole, as a list's change reads best seen whole.
 */
export const stateChanges = (before: string | null, after: string | null): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const show = (value: unknown) => (value === undefined ? "∅" : JSON.stringify(value))
  const walk = (path: string, a: unknown, b: unknown) => {
    const objects =
      typeof a === "object" &&
      a !== null &&
      !Array.isArray(a) &&
      typeof b === "object" &&
      b !== null &&
      !Array.isArray(b)
    if (objects) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
      for (const key of keys)
        walk(
          path === "" ? key : `${path}.${key}`,
          (a as Record<string, unknown>)[key],
          (b as Record<string, unknown>)[key],
        )
      return
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return
    const name = path === "" ? "state" : path
    if (a === undefined) lines.push(`+ ${name}: ${show(b)}`)
    else if (b === undefined) lines.push(`- ${name}: ${show(a)}`)
    else lines.push(`~ ${name}: ${show(a)} → ${show(b)}`)
  }
  walk("", parse(before), parse(after))
  return lines
}

/** The screen for the current step, each line at most `width` characters. */
export const renderStep = (
  steps: ReadonlyArray<Step>,
  state: StepperState,
  width = 120,
): ReadonlyArray<string> => {
  const fit = (line: string) => clip(line, width)
  const step = steps[state.at]
  const help = "n/→ next · p/← back · g <sequence> Enter go to · 0 first · G last · q quit"
  if (step === undefined) return [fit("nothing to step through"), fit(help)]
  const lines = [
    `step ${state.at + 1} of ${steps.length}  #${step.sequence}  ${step.occurredAt}`,
    `${step.type} on ${step.aggregate} v${step.version} by ${step.by}`,
    `payload ${step.payload}`,
    "",
    "state changes:",
    ...(step.after === null
      ? ["  (no decider folds this aggregate type)"]
      : stateChanges(step.before, step.after).map((l) => `  ${l}`)),
  ]
  if (step.decision !== undefined) {
    const d = step.decision
    lines.push(
      "",
      `decision ${d.decisionId}: ${d.skill}, prompt ${d.promptVersion}`,
      `  input ${d.input ?? "(not recorded)"}`,
      `  retrieved ${d.retrieved.length === 0 ? "nothing" : d.retrieved.join(", ")}`,
      `  output ${d.output ?? "(none: a person decides)"}`,
    )
  }
  lines.push("", state.typing === null ? help : `go to sequence: ${state.typing}_`)
  return lines.map(fit)
}
