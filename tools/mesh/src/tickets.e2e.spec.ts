import { type CustomerOpsProcess, gateway, owner, startCustomerOps } from "@mesh/customer-ops/testing"
import { useNatsServer } from "@mesh/stack/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { closedUrl, withCannedServer } from "./testing/httpStubs.ts"
import { linesOf, runMesh } from "./testing/runMesh.ts"

// `mesh tickets` against the customer-ops agent in its own process, over real NATS and Postgres
// with the payment and mailbox simulators behind its connectors (started as the agent's own e2e
// specs start it): the CLI sees only the agent's HTTP API.

const nats = useNatsServer()
let agent: CustomerOpsProcess
let url = ""

const untilThe: CustomerOpsProcess["until"] = (...args) => agent.until(...args)

beforeAll(async () => {
  agent = await startCustomerOps(nats.url, { prefix: "clitk" })
  url = agent.url
}, 150_000)

afterAll(async () => {
  await agent?.stop()
})

/** Runs `mesh tickets <args>` against this file's agent. */
/** The tokens a person and the shop's gateway hold: `mesh tickets` reads as the first, opens as the second. */
const tokens = { MESH_APPROVER_TOKEN: owner.token, MESH_INTAKE_TOKEN: gateway.token }

const tickets = (args: ReadonlyArray<string>) => runMesh(["tickets", ...args, "--url", url], tokens)

/** A ticket as the agent's API shows it, once `ready` says it is. */
const ticketOnceIt = (ticketId: string, what: string, ready: (view: Record<string, unknown>) => boolean) =>
  untilThe(`ticket ${ticketId} ${what}`, async () => {
    const response = await agent.read(`/tickets/${ticketId}`)
    const view = response.ok ? ((await response.json()) as Record<string, unknown>) : undefined
    return view !== undefined && ready(view) ? view : undefined
  })

describe("mesh tickets", () => {
  const customer = "c-cli-1"
  const message = [
    "open",
    "--customer",
    customer,
    "--subject",
    "Where is my order?",
    "--body",
    "Hello, could you tell me where my order O-7001 is? Thanks, Ana",
    "--channel",
    "email",
    "--reply-to",
    `${customer}@example.com`,
    "--order",
    "O-7001",
    "--message-id",
    "cli-e2e-7001",
  ]
  let ticketId = ""

  it("opens a ticket from a message and prints its id; the same message id again is the same message", async () => {
    const opened = await tickets(message)
    expect(opened.code, opened.stderr).toBe(0)
    expect(linesOf(opened.stdout)).toEqual([expect.stringMatching(/^tk-[0-9a-f]{24}$/)])
    ticketId = opened.stdout.trim()

    const retried = await tickets([...message, "--json"])
    expect(retried.code, retried.stderr).toBe(0)
    expect(JSON.parse(retried.stdout)).toMatchObject({
      ticketId,
      messageId: "cli-e2e-7001",
      duplicate: true,
    })
  })

  it("lists the ticket, as text and as one TicketView per line", async () => {
    await ticketOnceIt(ticketId, "is in the read model", () => true)
    const json = await tickets(["--json", "--customer", customer])
    expect(json.code, json.stderr).toBe(0)
    const views = linesOf(json.stdout).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(views).toEqual([
      expect.objectContaining({
        ticketId,
        customerId: customer,
        channel: "email",
        subject: "Where is my order?",
      }),
    ])

    const text = await tickets(["--customer", customer])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(
      new RegExp(
        `^${ticketId} (open|resolved) customer=${customer} intent=\\S+ sentiment=\\S+ disposition=\\S+ awaiting=\\S+`,
        "m",
      ),
    )
    expect(text.stdout).toContain("1 ticket\n")

    const none = await tickets(["--json", "--customer", "c-nobody"])
    expect(none.code, none.stderr).toBe(0)
    expect(none.stdout).toBe("")
  })

  it("shows a ticket with its thread, drafted reply and the reasons for its disposition", async () => {
    const routed = await ticketOnceIt(ticketId, "is routed", (view) => view.disposition !== null)
    const json = await tickets(["show", ticketId, "--json"])
    expect(json.code, json.stderr).toBe(0)
    const shown = JSON.parse(json.stdout) as Record<string, unknown>
    expect(shown).toMatchObject({ ticketId, disposition: routed.disposition })
    expect(shown.messages).toEqual([
      expect.objectContaining({ messageId: "cli-e2e-7001", contact: 1, subject: "Where is my order?" }),
    ])

    const text = await tickets(["show", ticketId])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain(`ticket ${ticketId} `)
    expect(text.stdout).toContain(`disposition  ${String(routed.disposition)}`)
    for (const reason of routed.dispositionReasons as ReadonlyArray<{ code: string; detail: string }>)
      expect(text.stdout).toContain(`- ${reason.code}: ${reason.detail}`)
    if (typeof routed.draftedReply === "string")
      expect(text.stdout).toContain(`    | ${routed.draftedReply.split("\n")[0]}`)
    expect(text.stdout).toContain("thread       1 message\n")
    expect(text.stdout).toContain("cli-e2e-7001: Where is my order?")
    expect(text.stdout).toContain("Hello, could you tell me where my order O-7001 is? Thanks, Ana")
  })

  it("fails with the agent's message naming the field for a bad message, and opens nothing", async () => {
    const bad = await tickets(["open", "--customer", "c-cli-2", "--subject", "Hi", "--body", ""])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toBe("")
    expect(linesOf(bad.stderr)).toEqual([
      expect.stringMatching(/^mesh: customer-ops refused the message \(field body\): body: /),
    ])
    const listed = await tickets(["--json", "--customer", "c-cli-2"])
    expect(listed.stdout).toBe("")
  })

  it("fails for a ticket the agent does not have", async () => {
    const missing = await tickets(["show", "tk-nope"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("no ticket tk-nope")
  })

  it("is a usage error without --url or MESH_CUSTOMER_OPS_URL, and attempts nothing", async () => {
    for (const args of [
      ["tickets"],
      ["tickets", "show", "tk-1"],
      ["tickets", "open", "--customer", "c", "--subject", "s", "--body", "b"],
    ]) {
      const run = await runMesh(args)
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toContain("pass --url <base> or set MESH_CUSTOMER_OPS_URL")
    }
    const fromEnv = await runMesh(["tickets", "--json", "--customer", customer], {
      ...tokens,
      MESH_CUSTOMER_OPS_URL: url,
    })
    expect(fromEnv.code, fromEnv.stderr).toBe(0)
    expect(fromEnv.stdout).toContain(ticketId)
  })

  it("exits 4 naming the agent's URL when nothing answers there", async () => {
    const down = await closedUrl()
    const listed = await runMesh(["tickets", "--url", down])
    expect(listed.code).toBe(4)
    expect(listed.stderr).toContain(`mesh: cannot reach customer-ops at ${down}: fetch failed (ECONNREFUSED)`)
    const opened = await runMesh([
      "tickets",
      "open",
      "--customer",
      "c",
      "--subject",
      "s",
      "--body",
      "b",
      "--url",
      down,
    ])
    expect(opened.code).toBe(4)
    expect(opened.stderr).toMatch(/to retry without sending it twice, pass --message-id cli-[0-9a-f-]{36}/)
  })

  it("names what is wrong in an answer of another shape, and takes a 503 for the agent unavailable", async () => {
    const answers: Record<string, { status: number; body: string }> = {
      "/tickets": { status: 200, body: JSON.stringify({ tickets: [{ ticketId: 7 }] }) },
      "/tickets/tk-1": { status: 200, body: "<html>not an agent</html>" },
      "/messages": { status: 503, body: JSON.stringify({ error: "the message could not be taken now" }) },
    }
    await withCannedServer(answers, async (other) => {
      const listed = await runMesh(["tickets", "--url", other])
      expect(listed.code).toBe(1)
      expect(listed.stderr).toContain(
        `customer-ops at ${other} answered GET /tickets (HTTP 200) with an unexpected body`,
      )
      expect(listed.stderr).toContain('["tickets"][0]["ticketId"]')
      const shown = await runMesh(["tickets", "show", "tk-1", "--url", other])
      expect(shown.code).toBe(1)
      expect(shown.stderr).toContain("answered GET /tickets/tk-1 (HTTP 200) with a body that is not JSON")
      const opened = await runMesh([
        "tickets",
        "open",
        "--customer",
        "c",
        "--subject",
        "s",
        "--body",
        "b",
        "--url",
        other,
      ])
      expect(opened.code).toBe(4)
      expect(opened.stderr).toContain(
        `cannot reach customer-ops at ${other}: it cannot serve POST /messages now (HTTP 503): the message could not be taken now`,
      )
    })
  })
})
