import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { TestConsole } from "effect/testing"
import { describe, expect, it } from "vitest"
import { MeshLogger } from "./logging.ts"

const someLogs = Effect.gen(function* () {
  yield* Effect.logDebug("checking the stock")
  yield* Effect.logInfo("ticket triaged").pipe(
    Effect.annotateLogs({ ticketId: "T-1001" }),
    Effect.withLogSpan("triage"),
  )
  yield* Effect.logError("refund failed", new Error("payments unreachable"))
})

/** Runs `someLogs` under MeshLogger.layerFromConfig with `env`; returns what went to stdout and stderr. */
const logsUnder = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(
      someLogs.pipe(
        Effect.provide(
          MeshLogger.layerFromConfig.pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))),
          ),
        ),
      ),
    )
    return {
      exit,
      stdout: yield* TestConsole.logLines,
      stderr: (yield* TestConsole.errorLines).map(String),
    }
  }).pipe(Effect.provide(TestConsole.layer), Effect.runPromise)

describe("MeshLogger", () => {
  it("writes logfmt lines at info and above to stderr only, by default", async () => {
    const { exit, stdout, stderr } = await logsUnder({})
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(stdout).toEqual([])
    expect(stderr).toHaveLength(2)
    expect(stderr[0]).toMatch(/level=INFO .*message="ticket triaged" triage=\d+ms ticketId=T-1001$/)
    expect(stderr[1]).toMatch(/level=ERROR .*message="refund failed" message="Error: payments unreachable"/)
  })

  it("writes one JSON object per line with MESH_LOG_FORMAT=json", async () => {
    const { stdout, stderr } = await logsUnder({ MESH_LOG_FORMAT: "json", MESH_LOG_LEVEL: "debug" })
    expect(stdout).toEqual([])
    const lines = stderr.map((line) => JSON.parse(line))
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ["DEBUG", "checking the stock"],
      ["INFO", "ticket triaged"],
      ["ERROR", ["refund failed", { name: "Error", message: "payments unreachable" }]],
    ])
    expect(lines[1]).toMatchObject({
      annotations: { ticketId: "T-1001" },
      spans: { triage: expect.any(Number) },
    })
    expect(Date.parse(lines[1].timestamp)).not.toBeNaN()
  })

  it("keeps a failure's cause in the line", async () => {
    const { stderr } = await Effect.gen(function* () {
      yield* Effect.logWarning("retrying").pipe(
        Effect.andThen(Effect.fail("conflict")),
        Effect.tapCause((cause) => Effect.logWarning("gave up", cause)),
        Effect.ignore,
        Effect.provide(MeshLogger.layer({ level: "warn", format: "json" })),
      )
      return { stderr: (yield* TestConsole.errorLines).map((line) => JSON.parse(String(line))) }
    }).pipe(Effect.provide(TestConsole.layer), Effect.runPromise)
    expect(stderr.map((l) => l.message)).toEqual(["retrying", "gave up"])
    expect(stderr[1].cause).toContain("conflict")
  })

  it("logs nothing with MESH_LOG_LEVEL=none and only errors with error", async () => {
    expect((await logsUnder({ MESH_LOG_LEVEL: "none" })).stderr).toEqual([])
    const errorsOnly = await logsUnder({ MESH_LOG_LEVEL: "error" })
    expect(errorsOnly.stderr).toHaveLength(1)
    expect(errorsOnly.stderr[0]).toContain("level=ERROR")
  })

  it("fails naming the variable when a setting has a bad value", async () => {
    for (const env of [{ MESH_LOG_LEVEL: "loud" }, { MESH_LOG_FORMAT: "xml" }]) {
      const { exit, stderr } = await logsUnder(env)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit._tag === "Failure" ? exit.cause : "")).toContain(Object.keys(env)[0])
      expect(stderr).toEqual([])
    }
  })
})
