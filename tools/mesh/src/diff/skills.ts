import { draftArticle, draftListingVersions } from "@mesh/content-ops/skills"
import { draftReply, triageTicketVersions } from "@mesh/customer-ops/skills"
import type { Skill } from "@mesh/models"
import { chooseSupplierVersions } from "@mesh/procurement/skills"

// The model-backed skills a diff can re-run recorded decisions through: every version each agent
// ships, as its package exports them. A recorded decision names its skill and version.

// biome-ignore lint/suspicious/noExplicitAny: any input and output; a diff only re-runs and compares
type AnySkill = Skill<any, any>

/** Every version of every agent's skills. */
export const meshSkills: ReadonlyArray<AnySkill> = [
  ...triageTicketVersions,
  draftReply,
  ...draftListingVersions,
  draftArticle,
  ...chooseSupplierVersions,
] as ReadonlyArray<AnySkill>

/** The latest version of each skill, by name. */
export const latestSkills: ReadonlyMap<string, AnySkill> = new Map(
  [...meshSkills].sort((a, b) => a.version - b.version).map((skill) => [skill.name, skill]),
)

/** One version of a skill, or undefined when no agent ships it. */
export const skillVersion = (name: string, version: number): AnySkill | undefined =>
  meshSkills.find((skill) => skill.name === name && skill.version === version)
