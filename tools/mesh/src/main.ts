import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { CliError, Command } from "effect/cli"
import { approvalsCommand, approveCommand, rejectCommand } from "./commands/approvals.ts"
import { devCommand } from "./commands/dev.ts"
import { deadLettersCommand, historyCommand, tailCommand } from "./commands/inspect.ts"
import { streamsCommand } from "./commands/streams.ts"

/** Commands whose packages own their argument parsing get the raw arguments. */
const delegated: Record<string, () => Promise<(args: ReadonlyArray<string>) => Promise<number>>> = {
  eval: async () => (await import("@mesh/models")).runEvalCli,
}

const mesh = Command.make("mesh").pipe(
  Command.withDescription(
    "Operate an Agent Mesh: local stack, streams, history, dead letters and approvals (also: mesh eval <skill>)",
  ),
  Command.withSubcommands([
    devCommand,
    streamsCommand,
    tailCommand,
    historyCommand,
    deadLettersCommand,
    approvalsCommand,
    approveCommand,
    rejectCommand,
  ]),
)

const [first, ...rest] = process.argv.slice(2)
const delegate = first === undefined ? undefined : delegated[first]
if (delegate !== undefined) {
  process.exitCode = await (await delegate())(rest)
} else {
  NodeRuntime.runMain(Command.run(mesh, { version: "0.1.0" }).pipe(Effect.provide(NodeServices.layer)), {
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
        const error = Cause.squash(exit.cause)
        // The CLI already printed usage errors with the help; everything else is ours to say.
        if (!CliError.isCliError(error)) {
          process.stderr.write(`mesh: ${error instanceof Error ? error.message : String(error)}\n`)
        }
        onExit(1)
      } else onExit(process.exitCode === undefined ? 0 : Number(process.exitCode))
    },
  })
}
