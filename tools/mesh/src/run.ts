import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import { CliError, Command } from "effect/cli"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { ExitCode, failureReport } from "./errors.ts"
import { mesh } from "./mesh.ts"

// These light modules import Effect's modules by path: `mesh --help` loads effect/cli and the
// definitions only. The "effect" index would add about 180 ms, @effect/platform-node's (HTTP,
// sockets, Redis) about 650 ms, and the handlers' packages (@mesh/actions alone 500 ms) more.

/** Runs `mesh` on this process's arguments; exits with the code its outcome maps to (README.md, "Exit codes"). */
export const runMesh = () =>
  NodeRuntime.runMain(Command.run(mesh, { version: "0.1.0" }).pipe(Effect.provide(NodeServices.layer)), {
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit))
        return onExit(process.exitCode === undefined ? ExitCode.ok : Number(process.exitCode))
      if (Cause.hasInterruptsOnly(exit.cause)) return onExit(ExitCode.ok)
      const error = Cause.squash(exit.cause)
      const { line, code } = failureReport(error)
      if (line !== undefined) process.stderr.write(`mesh: ${line}\n`)
      if (process.env.MESH_LOG_LEVEL === "debug" && !CliError.isCliError(error))
        process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
      onExit(code)
    },
  })
