import { Schema } from "effect"

/**
 * The domains of the mesh; each owns one event stream. Three are business domains; `actions`
 * (side-effect intents and their outcomes), `decisions` (recorded model invocations) and
 * `requests` (what reached the mesh from outside) are platform domains whose aggregate type is the
 * owning agent, so that a subject names its agent. `registers` holds every change of the shared
 * registers: its stream sources the namespace's register bucket, whose keys are
 * `<register>.<id>.<site>`.
 */
export const Domain = Schema.Literals([
  "content",
  "customer",
  "procurement",
  "actions",
  "decisions",
  "requests",
  "registers",
])
/** A business domain name. */
export type Domain = typeof Domain.Type

/** Every domain, in a stable order (used to declare one stream per domain). */
export const domains: ReadonlyArray<Domain> = Domain.literals

/** The aggregate type of events that belong to any aggregate type of their domain (the platform domains). */
export const anyAggregateType = "*"

/**
 * A NATS subject token: no dots, wildcards or whitespace, so that an id can never
 * widen a subscription or address a different aggregate.
 */
export const SubjectToken = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]{1,128}$/, {
    message: "must be 1-128 characters of letters, digits, '_' or '-' (it becomes a NATS subject token)",
  }),
)

const tokenPattern = /^[A-Za-z0-9_-]{1,128}$/

/** Throws a clear error when a value cannot be used as a subject token. */
export const assertSubjectToken = (what: string, value: string): string => {
  if (!tokenPattern.test(value)) {
    throw new TypeError(
      `${what} ${JSON.stringify(value)} must be 1-128 characters of letters, digits, '_' or '-'`,
    )
  }
  return value
}

const namespacePattern = /^(?=.{1,64}$)[a-z0-9]+(?:_[a-z0-9]+)*$/

/**
 * A namespace name, the one rule wherever a namespace becomes a name (streams, subjects, Postgres
 * schemas, folders, buckets): lowercase, so that no two namespaces share streams whose names are
 * upper-cased; no '-', which a Postgres identifier would have to turn into '_'; and no doubled,
 * leading or trailing '_', so that `<namespace>__<agent>` can never be read two ways.
 */
export const Namespace = Schema.String.check(
  Schema.isPattern(namespacePattern, {
    message: "must be 1-64 characters of a-z and 0-9, with single '_' between them",
  }),
)

/** Throws a clear error when a value cannot be used as a namespace. */
export const assertNamespace = (value: string): string => {
  if (!namespacePattern.test(value)) {
    throw new TypeError(
      `namespace ${JSON.stringify(value)} must be 1-64 characters of a-z and 0-9, with single '_' between them`,
    )
  }
  return value
}

/**
 * The namespace every subject and stream name hangs from. Production uses "mesh";
 * tests and forks use their own so that they never share a stream.
 */
export const defaultNamespace = "mesh"

/** Names of streams and subjects, derived from one place so that they can never disagree. */
export const Subjects = {
  /** The event stream of a domain, e.g. `MESH_CUSTOMER`. */
  streamName: (namespace: string, domain: Domain): string =>
    `${assertNamespace(namespace)}_${domain}`.toUpperCase(),
  /** All subjects of a domain's stream, e.g. `mesh.customer.>`. */
  domainWildcard: (namespace: string, domain: Domain): string => `${assertNamespace(namespace)}.${domain}.>`,
  /** All instances of one aggregate type, e.g. `mesh.customer.ticket.*`. */
  aggregateTypeWildcard: (namespace: string, domain: Domain, aggregateType: string): string =>
    `${assertNamespace(namespace)}.${domain}.${assertSubjectToken("aggregate type", aggregateType)}.*`,
  /** The subject of one aggregate instance, e.g. `mesh.customer.ticket.T-42`. */
  aggregate: (namespace: string, domain: Domain, aggregateType: string, aggregateId: string): string =>
    `${assertNamespace(namespace)}.${domain}.${assertSubjectToken("aggregate type", aggregateType)}.${assertSubjectToken("aggregate id", aggregateId)}`,
  /** Parses an aggregate subject back into its parts, or undefined when it is not one. */
  parseAggregate: (
    subject: string,
  ): { namespace: string; domain: string; aggregateType: string; aggregateId: string } | undefined => {
    const parts = subject.split(".")
    // A wildcard or an empty token is not the subject of one aggregate.
    if (parts.length !== 4 || !parts.every((part) => tokenPattern.test(part))) return undefined
    const [namespace, domain, aggregateType, aggregateId] = parts as [string, string, string, string]
    return { namespace, domain, aggregateType, aggregateId }
  },
  /** The dead-letter stream of a namespace, e.g. `MESH_DEADLETTER`. */
  deadLetterStream: (namespace: string): string => `${assertNamespace(namespace)}_deadletter`.toUpperCase(),
  /** The dead-letter subject of one consumer, e.g. `mesh.deadletter.customer-ops-triage`. */
  deadLetter: (namespace: string, consumer: string): string =>
    `${assertNamespace(namespace)}.deadletter.${assertSubjectToken("consumer", consumer)}`,
  /**
   * The subject every agent of a namespace answers an operator's question on (each instance its
   * own answer), e.g. `mesh.ops.projections` or `mesh.ops.reactors`: not a stream's, so nothing is
   * stored.
   */
  operatorQuestion: (namespace: string, question: "projections" | "reactors"): string =>
    `${assertNamespace(namespace)}.ops.${question}`,
  /** The subject one agent takes an operator's command on (one instance of it), e.g. `mesh.ops.customer-ops.rebuild`. */
  operatorCommand: (namespace: string, agent: string, command: "rebuild"): string =>
    `${assertNamespace(namespace)}.ops.${assertSubjectToken("agent", agent)}.${command}`,
  /**
   * The subject the agent that runs a consumer takes an operator's redelivery of one of its dead
   * letters on (one instance of it), e.g. `mesh.ops.redeliver.customer-ops-triage`.
   */
  operatorRedelivery: (namespace: string, consumer: string): string =>
    `${assertNamespace(namespace)}.ops.redeliver.${assertSubjectToken("consumer", consumer)}`,
  /**
   * Where an operator marks one consumer's dead letter settled (handed back and reacted to, or
   * discarded), in the dead-letter stream beside it, e.g. `mesh.deadletter.customer-ops-triage.settled`.
   */
  deadLetterSettled: (namespace: string, consumer: string): string =>
    `${assertNamespace(namespace)}.deadletter.${assertSubjectToken("consumer", consumer)}.settled`,
  /** All dead-letter subjects of a namespace. */
  deadLetterWildcard: (namespace: string): string => `${assertNamespace(namespace)}.deadletter.>`,
  /** The KV bucket holding the decider snapshots of a namespace, e.g. `mesh_snapshots`. */
  snapshotBucket: (namespace: string): string => `${assertNamespace(namespace)}_snapshots`,
  /** The KV bucket indexing reusable decisions by skill and input hash, e.g. `mesh_decision_cache`. */
  decisionCacheBucket: (namespace: string): string => `${assertNamespace(namespace)}_decision_cache`,
  /** The KV bucket holding the shared registers of a namespace, e.g. `mesh_registers`. */
  registerBucket: (namespace: string): string => `${assertNamespace(namespace)}_registers`,
  /** The key of one site's value of a register instance, e.g. `inventory-on-hand.SKU-1.main`. */
  registerKey: (register: string, id: string, site: string): string =>
    `${assertSubjectToken("register", register)}.${assertSubjectToken("register id", id)}.${assertSubjectToken("site", site)}`,
  /** The object store bucket holding the large prompts and outputs of decisions, e.g. `MESH_DECISION_CONTENT`. */
  decisionContentBucket: (namespace: string): string =>
    `${assertNamespace(namespace)}_decision_content`.toUpperCase(),
} as const
