import { type Simulators, startSimulators } from "@mesh/simulators"
import { afterAll, beforeAll } from "vitest"
import { describeConnectorContract } from "../testing/connectorContract.ts"
import { simulatorContractHooks } from "../testing/simulatorContract.ts"
import { makeHttpConnector } from "./httpConnector.ts"
import { mailboxApi } from "./systems.ts"

// Long enough for 20 parallel calls on a busy 2-core machine; the slow-response fault is 2.5 times it.
const timeoutMs = 1_000

let sims: Simulators
beforeAll(async () => {
  sims = await startSimulators()
})
afterAll(async () => {
  await sims?.stop()
})

describeConnectorContract("mailbox.send-message over HTTP", () => ({
  connector: makeHttpConnector(mailboxApi, { baseUrl: sims.mailbox.url, timeoutMs }),
  kind: "mailbox.send-message",
  compensationKind: "mailbox.retract-message",
  parameters: (tag) => ({
    to: `ana-${tag}@example.com`,
    subject: "Re: where is my order?",
    body: "It shipped this morning.",
    inReplyTo: `ticket-${tag}`,
  }),
  changed: (parameters) => ({ ...parameters, body: "It has not shipped yet." }),
  // The simulated mailbox refuses addresses at bounce.invalid (422).
  refused: (tag) => ({ to: `nobody-${tag}@bounce.invalid`, subject: "Hello", body: "Hello." }),
  ...simulatorContractHooks(sims.mailbox, { timeoutMs }),
}))
