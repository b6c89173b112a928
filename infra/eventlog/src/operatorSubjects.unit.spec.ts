import { Subjects } from "@mesh/contracts"
import { describe, expect, it } from "vitest"
import { declareTopology } from "./topology.ts"

// An operator's questions and commands go over core NATS: no stream, bucket or object store of the
// namespace may capture them, or every `mesh projections` would be stored for good. Settling marks
// of dead letters, on the other hand, belong in the dead-letter stream.

/** Whether a NATS subject filter (`*` one token, `>` the rest) matches a subject. */
const matches = (filter: string, subject: string): boolean => {
  const f = filter.split(".")
  const s = subject.split(".")
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i
    if (i >= s.length || (f[i] !== "*" && f[i] !== s[i])) return false
  }
  return f.length === s.length
}

describe("operator subjects", () => {
  const namespace = "mesh"
  const declared = declareTopology({ namespace }).flatMap((d) =>
    "kind" in d ? [d.kind === "kv" ? `$KV.${d.bucket}.>` : `$O.${d.bucket}.>`] : d.subjects,
  )

  it("lie outside every stream, bucket and object store of the namespace", () => {
    expect(declared.length).toBeGreaterThan(8)
    for (const subject of [
      Subjects.operatorQuestion(namespace, "projections"),
      Subjects.operatorQuestion(namespace, "reactors"),
      Subjects.operatorCommand(namespace, "customer-ops", "rebuild"),
      Subjects.operatorRedelivery(namespace, "customer-ops-triage"),
    ])
      expect(
        declared.filter((filter) => matches(filter, subject)),
        subject,
      ).toEqual([])
  })

  it("while a dead letter's settling mark goes into the dead-letter stream beside it", () => {
    const mark = Subjects.deadLetterSettled(namespace, "settled")
    expect(declared.filter((filter) => matches(filter, mark))).toEqual([
      Subjects.deadLetterWildcard(namespace),
    ])
  })
})
