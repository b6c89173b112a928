import { Config, ConfigProvider, Effect } from "effect"
import { CliError } from "effect/cli"
import { describe, expect, it } from "vitest"
import { describeCause, ExitCode, failureReport, meshError, redactUrl } from "./errors.ts"

describe("mesh failures", () => {
  it("each become one line and their documented exit code", () => {
    expect(
      failureReport(
        meshError({
          _tag: "NatsUnreachable",
          url: "nats://127.0.0.1:1",
          cause: new Error("connection refused"),
        }),
      ),
    ).toEqual({
      line: "cannot reach NATS at nats://127.0.0.1:1: connection refused",
      code: ExitCode.unreachable,
    })
    expect(
      failureReport(
        meshError({ _tag: "Failed", message: "A-1: refused (already-decided); nothing changed" }),
      ),
    ).toEqual({
      line: "A-1: refused (already-decided); nothing changed",
      code: ExitCode.failed,
    })
    expect(failureReport(meshError({ _tag: "BadInput", message: "--compare needs two versions" })).code).toBe(
      ExitCode.usage,
    )
    // effect/cli printed the usage error with the help already.
    expect(failureReport(new CliError.ShowHelp({ commandPath: ["mesh"], errors: [] }))).toEqual({
      line: undefined,
      code: ExitCode.usage,
    })
    expect(failureReport(new TypeError("boom\n    at somewhere"))).toEqual({
      line: "boom at somewhere",
      code: 1,
    })
  })

  it("name a bad setting's variable", async () => {
    const error = await Effect.runPromise(
      Effect.flip(Config.Literals(["info"], "MESH_LOG_LEVEL")).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { MESH_LOG_LEVEL: "loud" } }))),
      ),
    )
    const report = failureReport(error)
    expect(report.code).toBe(ExitCode.usage)
    expect(report.line).toContain("MESH_LOG_LEVEL")
    expect(report.line).not.toContain("\n")
  })

  it("keep causes on one line and passwords out", () => {
    expect(describeCause({ message: "first\n  second" })).toBe("first second")
    expect(describeCause(42)).toBe("42")
    expect(redactUrl("postgres://mesh:secret@db:5432/mesh")).toBe("postgres://mesh:***@db:5432/mesh")
    expect(redactUrl("nats://127.0.0.1:4222")).toBe("nats://127.0.0.1:4222")
  })
})
