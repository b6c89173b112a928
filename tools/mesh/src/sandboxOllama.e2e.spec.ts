import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { contentOpsTaskAnswers } from "@mesh/content-ops/testing/model"
import { customerOpsTaskAnswers } from "@mesh/customer-ops/testing/model"
import { type FakeOllama, startFakeOllama } from "@mesh/models/testing"
import { procurementTaskAnswers } from "@mesh/procurement/testing/model"
import { findRepoRoot, workspaceNode } from "@mesh/stack"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMesh } from "./testing/runMesh.ts"

// A day recorded through a model server, replayed: the shop's day is played with every agent
// asking a local server that speaks Ollama's API (answering each agent's tasks as a well-behaved
// model would), then `mesh sandbox` replays it through the whole mesh with that server still
// configured, as an SRE's shell would have it. The server counts every request it gets: the day
// asked it, the replay must not, and every recorded decision must be read back, none made anew.

const nats = useNatsServer()
const dataDir = mkdtempSync(join(tmpdir(), "sandbox-ollama-"))
let model: FakeOllama

beforeAll(async () => {
  model = await startFakeOllama({
    answers: { ...customerOpsTaskAnswers, ...procurementTaskAnswers, ...contentOpsTaskAnswers },
  })
})
afterAll(async () => {
  await model?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** A short day through the model server; its namespace stays on the NATS server afterwards. */
const playDay = () =>
  new Promise<{ code: number; namespace: string | undefined; stderr: string }>((resolve) =>
    execFile(
      workspaceNode(),
      [
        join(findRepoRoot(), "tools", "demo", "src", "main.ts"),
        ...["--tickets", "30", "--orders", "12", "--products", "8", "--seed", "5", "--speed", "3", "--json"],
      ],
      {
        env: { ...process.env, MESH_NATS_URL: nats.url, MESH_DATA_DIR: dataDir, OLLAMA_HOST: model.url },
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const last = stdout.trim().split("\n").at(-1) ?? ""
        resolve({
          code: error === null ? 0 : Number(error.code ?? 1),
          namespace: last.startsWith("{") ? (JSON.parse(last) as { namespace: string }).namespace : undefined,
          stderr: `${stderr.slice(-3000)}\n${stdout.slice(-2000)}`,
        })
      },
    ),
  )

describe("a day recorded through a model server, replayed in a sandbox", () => {
  it("asks the model server nothing on replay: every recorded decision is read back, nothing appended, no outside call", async () => {
    const day = await playDay()
    expect(day.code, day.stderr).toBe(0)
    const namespace = day.namespace!
    const asked = model.stats()
    // The day went through the server: its skills chatted with it and its memory was embedded by it.
    expect(asked.chatRequests).toBeGreaterThan(10)
    expect(asked.embedRequests).toBeGreaterThan(0)

    // The recorded decisions name the server's provider, not the offline model.
    const file = join(dataDir, "day.jsonl")
    const env = { OLLAMA_HOST: model.url, MESH_OLLAMA_HOST: model.url }
    const exported = await runMesh(
      ["export", "--namespace", namespace, "--keep-personal", "--out", file, "--nats-url", nats.url],
      env,
      { timeoutMs: 120_000 },
    )
    expect(exported.code, exported.stderr).toBe(0)
    const decisions = readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.includes('"DecisionRecorded"'))
    expect(decisions.length).toBeGreaterThan(10)
    expect(decisions.some((line) => line.includes('"provider":"ollama"'))).toBe(true)

    model.reset()
    const replay = await runMesh(
      ["sandbox", "--namespace", namespace, "--json", "--nats-url", nats.url],
      env,
      {
        timeoutMs: 600_000,
      },
    )
    expect(replay.code, `${replay.stdout.slice(0, 6000)}\n${replay.stderr.slice(-3000)}`).toBe(0)
    expect(JSON.parse(replay.stdout)).toMatchObject({
      clean: true,
      appended: {},
      outsideCalls: { storefront: 0, payment: 0, supplier: 0, mailbox: 0 },
      decisionsMadeAnew: 0,
    })
    expect(model.stats()).toMatchObject({ requests: 0, chatRequests: 0, embedRequests: 0 })
  }, 600_000)
})
