/**
 * Runs the four simulators as their own process, so that crash tests can kill an executor and
 * leave the external world (and its ledger) standing.
 *
 *   node tools/simulators/src/main.ts [--host 127.0.0.1] [--storefront 7101] [--payment 7102] ...
 *
 * Ports default to SIM_<NAME>_PORT or an OS-chosen free port. When ready it prints one JSON line,
 * `{"storefront":"http://...","payment":...}`, and it stops on SIGTERM or SIGINT.
 */
import { parseArgs } from "node:util"
import { type SimulatorName, simulatorNames, startSimulators } from "./index.ts"

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    storefront: { type: "string" },
    payment: { type: "string" },
    supplier: { type: "string" },
    mailbox: { type: "string" },
  },
})

const portOf = (name: SimulatorName): number | undefined => {
  const raw = values[name] ?? process.env[`SIM_${name.toUpperCase()}_PORT`]
  if (raw === undefined || raw === "") return undefined
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`bad port for ${name}: ${raw}`)
  return port
}

const ports: Partial<Record<SimulatorName, number>> = {}
for (const name of simulatorNames) {
  const port = portOf(name)
  if (port !== undefined) ports[name] = port
}

const simulators = await startSimulators({
  ...(values.host === undefined ? {} : { host: values.host }),
  ports,
})
process.stdout.write(`${JSON.stringify(simulators.urls)}\n`)

const shutdown = () => {
  simulators.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once("SIGTERM", shutdown)
process.once("SIGINT", shutdown)
