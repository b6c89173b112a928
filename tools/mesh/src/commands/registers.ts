import { Argument, Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

// Register names are checked by the handler against the shop's declared registers: spelling them
// out here would make `mesh --help` load @mesh/contracts, or keep a second copy of the list.

const load = () => import("../handlers/registers.ts")

const registerFlag = Flag.String("register").pipe(
  Flag.optional,
  Flag.withDescription("only this register (`mesh registers` lists them)"),
)

/** The register and instance that `get` and `history` read. */
const instanceArgs = {
  register: Argument.String("register").pipe(
    Argument.withDescription("a declared register, e.g. inventory-on-hand (`mesh registers` lists them)"),
  ),
  id: Argument.String("id").pipe(Argument.withDescription("the instance, e.g. a SKU or a customer id")),
}

const listConfig = { register: registerFlag, json: jsonFlag, natsUrl: natsUrlFlag, namespace: namespaceFlag }

/** `mesh registers list [--register r]`: the declared registers and their instances that have values. */
const listCommand = Command.make("list", listConfig, (args) => lazily(load, (h) => h.list(args))).pipe(
  Command.withDescription("List the declared registers and the instances that have values"),
)

/** `mesh registers get <register> <id>`: the merged value and every site's key. */
const getCommand = Command.make(
  "get",
  { ...instanceArgs, json: jsonFlag, natsUrl: natsUrlFlag, namespace: namespaceFlag },
  (args) => lazily(load, (h) => h.get(args)),
).pipe(
  Command.withDescription(
    "Print an instance's merged value, whether its sites are concurrent, what is unresolved, and each site's key",
  ),
)

/** `mesh registers history <register> <id>`: every change of an instance, oldest first. */
const historyCommand = Command.make(
  "history",
  { ...instanceArgs, json: jsonFlag, natsUrl: natsUrlFlag, namespace: namespaceFlag },
  (args) => lazily(load, (h) => h.history(args)),
).pipe(
  Command.withDescription(
    "Print every change of an instance at every site: writer, operation, writes it had not seen, value after",
  ),
)

/** `mesh registers watch [--register r]`: changes as they land, until Ctrl-C or a lost connection. */
const watchCommand = Command.make("watch", listConfig, (args) => lazily(load, (h) => h.watch(args))).pipe(
  Command.withDescription("Print register changes as they land, until Ctrl-C"),
)

/** `mesh registers [list|get|history|watch]`: the shared registers, read as agent "mesh" (never written). */
export const registersCommand = Command.make("registers", listConfig, (args) =>
  lazily(load, (h) => h.list(args)),
).pipe(
  Command.withDescription(
    "Read the shared registers: list (the default), get <register> <id>, history <register> <id>, watch",
  ),
  Command.withSubcommands([listCommand, getCommand, historyCommand, watchCommand]),
)
