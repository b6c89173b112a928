import { Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

const load = () => import("../handlers/diff.ts")

/** `mesh diff`: recorded history through the current code, and where its decisions diverge. */
export const diffCommand = Command.make(
  "diff",
  {
    policy: Flag.String("policy").pipe(
      Flag.atLeast(0),
      Flag.withDescription(
        "a candidate action policy file (repeatable; each weighs its own workflow's requests); default: the policies this checkout ships",
      ),
    ),
    skill: Flag.String("skill").pipe(
      Flag.atLeast(0),
      Flag.withDescription(
        "re-run the recorded inputs of this skill's decisions: name (its latest version), name@version, or all (repeatable)",
      ),
    ),
    provider: Flag.Literals("provider", ["offline", "config"]).pipe(
      Flag.withDefault("offline"),
      Flag.withDescription(
        "the model --skill re-runs ask: offline, or config (MESH_OLLAMA_HOST and the MESH_* model settings)",
      ),
    ),
    check: Flag.Boolean("check").pipe(
      Flag.withDefault(false),
      Flag.withDescription(
        "also decode, upcast and fold every event through this build's deciders and read every decision back through its skill; exit 1 if anything does not",
      ),
    ),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) => lazily(load, (h) => h.diff(args)),
).pipe(
  Command.withDescription(
    "Run recorded history through the current code (policies, skills, deciders) and report where its decisions diverge from what happened; appends nothing, calls no connector",
  ),
)
