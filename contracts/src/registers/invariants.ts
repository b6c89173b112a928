import { assertSubjectToken } from "../subjects.ts"
import type { RegisterDefinition, RegisterSnapshot } from "./register.ts"

// Invariants across agents: rules over shared registers that no single agent can keep, because
// each acts on its own, lagging view. The resolver checks an invariant whenever one of the
// registers it names changes, for the instance that changed, and records each violation once with
// the resolution its owner declared.

/** What a violation gets, as its owner declared. */
export type InvariantResolution =
  /** A human decides (`mesh conflicts` lists it). */
  | { readonly _tag: "Escalate" }
  /** The owning agent acts: it reacts to the recorded violation, which carries the command. */
  | { readonly _tag: "Command"; readonly agent: string; readonly command: string; readonly payload: unknown }
  /** The later of two actions is undone through the actions layer (its declared compensation). */
  | {
      readonly _tag: "Compensate"
      readonly agent: string
      readonly actionId: string
      readonly reason: string
    }

/** One way an instance breaks an invariant. */
export interface InvariantViolation {
  /**
   * What is violated, as a subject token that names this occurrence: the same violation seen again
   * (a redelivery, a restart) has the same subject and is recorded once.
   */
  readonly subject: string
  readonly message: string
  readonly resolution: InvariantResolution
}

/** The registers an invariant reads, each as the resolver read it for one instance. */
export type InvariantInputs = ReadonlyMap<
  string,
  { readonly value: unknown; readonly snapshot: RegisterSnapshot<unknown> }
>

/** A declared invariant. */
export interface InvariantDefinition {
  /** A subject token, e.g. `published-listing-has-stock`. */
  readonly name: string
  /** The agent that answers for it. */
  readonly owner: string
  readonly summary: string
  /** The registers it is checked on, all keyed by the same id (a SKU, say). */
  // biome-ignore lint/suspicious/noExplicitAny: an invariant reads registers of different kinds
  readonly registers: ReadonlyArray<RegisterDefinition<any, any, any>>
  /** Pure: the violations of one instance, none when it holds. */
  readonly check: (id: string, inputs: InvariantInputs) => ReadonlyArray<InvariantViolation>
}

/** Declares an invariant; a name or owner that cannot be a subject token is refused at once. */
export const defineInvariant = (spec: InvariantDefinition): InvariantDefinition => {
  assertSubjectToken("invariant name", spec.name)
  assertSubjectToken("invariant owner", spec.owner)
  if (spec.registers.length === 0) throw new TypeError(`invariant ${spec.name} names no register`)
  return spec
}
