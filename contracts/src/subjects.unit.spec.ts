import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  assertNamespace,
  assertSubjectToken,
  type Domain,
  defaultNamespace,
  domains,
  Namespace,
  Subjects,
  SubjectToken,
} from "./subjects.ts"
import { namespaceArbitrary, subjectTokenArbitrary } from "./testing/arbitraries.ts"

const badTokens = ["T.42", "T*", "*", ">", "T>", "T 42", " ", "T\t42", "", "x".repeat(129)]

describe("stream names", () => {
  it("names one stream per domain from the namespace", () => {
    expect(domains.map((domain) => Subjects.streamName(defaultNamespace, domain))).toStrictEqual([
      "MESH_CONTENT",
      "MESH_CUSTOMER",
      "MESH_PROCUREMENT",
      "MESH_ACTIONS",
      "MESH_DECISIONS",
      "MESH_REQUESTS",
      "MESH_REGISTERS",
    ])
    expect(Subjects.streamName("test_run_7", "customer")).toBe("TEST_RUN_7_CUSTOMER")
  })

  it("names the register bucket and one key per register instance and site", () => {
    expect(Subjects.registerBucket("mesh")).toBe("mesh_registers")
    expect(Subjects.registerKey("inventory-on-hand", "SKU-1", "edge")).toBe("inventory-on-hand.SKU-1.edge")
    expect(() => Subjects.registerKey("inventory-on-hand", "SKU.1", "edge")).toThrow(/register id "SKU.1"/)
  })

  it("names the dead-letter stream of a namespace", () => {
    expect(Subjects.deadLetterStream("mesh")).toBe("MESH_DEADLETTER")
  })

  it("names the object store bucket of decision content, a valid bucket name", () => {
    expect(Subjects.decisionContentBucket("mesh")).toBe("MESH_DECISION_CONTENT")
    expect(Subjects.decisionContentBucket("test_run_7")).toMatch(/^[-\w]+$/)
  })
})

describe("subjects", () => {
  it("derives domain, aggregate-type and aggregate subjects", () => {
    expect(Subjects.domainWildcard("mesh", "customer")).toBe("mesh.customer.>")
    expect(Subjects.aggregateTypeWildcard("mesh", "customer", "ticket")).toBe("mesh.customer.ticket.*")
    expect(Subjects.aggregate("mesh", "customer", "ticket", "T-42")).toBe("mesh.customer.ticket.T-42")
  })

  it("derives dead-letter subjects", () => {
    expect(Subjects.deadLetter("mesh", "customer-ops-triage")).toBe("mesh.deadletter.customer-ops-triage")
    expect(Subjects.deadLetterWildcard("mesh")).toBe("mesh.deadletter.>")
  })

  it("derives operator subjects (infra/eventlog holds them outside every stream)", () => {
    expect(Subjects.operatorQuestion("mesh", "projections")).toBe("mesh.ops.projections")
    expect(Subjects.operatorCommand("mesh", "customer-ops", "rebuild")).toBe("mesh.ops.customer-ops.rebuild")
    expect(() => Subjects.operatorCommand("mesh", "a.b", "rebuild")).toThrow("agent")
    expect(Subjects.operatorRedelivery("mesh", "tally")).toBe("mesh.ops.redeliver.tally")
  })

  it("parses an aggregate subject back into its parts", () => {
    fc.assert(
      fc.property(
        namespaceArbitrary,
        fc.constantFrom<Domain>(...domains),
        subjectTokenArbitrary,
        subjectTokenArbitrary,
        (namespace, domain, aggregateType, aggregateId) => {
          const subject = Subjects.aggregate(namespace, domain, aggregateType, aggregateId)
          expect(Subjects.parseAggregate(subject)).toStrictEqual({
            namespace,
            domain,
            aggregateType,
            aggregateId,
          })
        },
      ),
    )
  })

  it("does not parse wildcards, empty tokens or other shapes as an aggregate subject", () => {
    for (const subject of [
      "mesh.customer.ticket.*",
      "mesh.customer.ticket.>",
      "mesh.customer..T-42",
      "mesh.customer.ticket",
      "mesh.customer.ticket.T.42",
      "mesh.deadletter.triage",
      "",
    ]) {
      expect(Subjects.parseAggregate(subject), subject).toBeUndefined()
    }
  })
})

describe("subject tokens", () => {
  it.each(badTokens)("refuses the aggregate id %j", (id) => {
    expect(() => Subjects.aggregate("mesh", "customer", "ticket", id)).toThrow(
      `aggregate id ${JSON.stringify(id)} must be 1-128 characters of letters, digits, '_' or '-'`,
    )
  })

  it.each(badTokens)("refuses the aggregate type %j", (aggregateType) => {
    expect(() => Subjects.aggregate("mesh", "customer", aggregateType, "T-42")).toThrow("aggregate type")
    expect(() => Subjects.aggregateTypeWildcard("mesh", "customer", aggregateType)).toThrow("aggregate type")
  })

  it.each(badTokens)("refuses the namespace %j everywhere", (namespace) => {
    expect(() => Subjects.streamName(namespace, "customer")).toThrow("namespace")
    expect(() => Subjects.domainWildcard(namespace, "customer")).toThrow("namespace")
    expect(() => Subjects.aggregateTypeWildcard(namespace, "customer", "ticket")).toThrow("namespace")
    expect(() => Subjects.aggregate(namespace, "customer", "ticket", "T-42")).toThrow("namespace")
    expect(() => Subjects.deadLetterStream(namespace)).toThrow("namespace")
    expect(() => Subjects.deadLetter(namespace, "triage")).toThrow("namespace")
    expect(() => Subjects.deadLetterWildcard(namespace)).toThrow("namespace")
  })

  it.each(["Mesh", "MESH", "a__b", "a_-b", "_a", "a-", "x".repeat(65)])(
    "refuses the namespace %j, which would share or blur names with another",
    (namespace) => {
      expect(() => assertNamespace(namespace)).toThrow("namespace")
      expect(() => Subjects.streamName(namespace, "customer")).toThrow("namespace")
      expect(Result.isFailure(Schema.decodeUnknownResult(Namespace)(namespace))).toBe(true)
    },
  )

  it("accepts every namespace of the one rule, and upper-cases none into another's streams", () => {
    fc.assert(
      fc.property(namespaceArbitrary, (namespace) => {
        expect(assertNamespace(namespace)).toBe(namespace)
        expect(Result.isSuccess(Schema.decodeUnknownResult(Namespace)(namespace))).toBe(true)
        expect(Subjects.streamName(namespace, "customer")).toBe(`${namespace.toUpperCase()}_CUSTOMER`)
      }),
    )
  })

  it.each(badTokens)("refuses the consumer %j", (consumer) => {
    expect(() => Subjects.deadLetter("mesh", consumer)).toThrow("consumer")
  })

  it.each(badTokens)("SubjectToken refuses %j with a message saying why", (token) => {
    const result = Schema.decodeUnknownResult(SubjectToken)(token)
    if (Result.isSuccess(result)) return expect.unreachable(`${JSON.stringify(token)} was accepted`)
    expect(result.failure.message).toContain("it becomes a NATS subject token")
  })

  it("accepts letters, digits, '_' and '-' up to 128 characters", () => {
    fc.assert(
      fc.property(subjectTokenArbitrary, (token) => {
        expect(assertSubjectToken("aggregate id", token)).toBe(token)
        expect(Result.isSuccess(Schema.decodeUnknownResult(SubjectToken)(token))).toBe(true)
      }),
    )
    expect(assertSubjectToken("aggregate id", "x".repeat(128))).toBe("x".repeat(128))
  })
})
