import { Command } from "effect/cli"
import { approvalsCommand, approveCommand, rejectCommand } from "./commands/approvals.ts"
import { conflictsCommand } from "./commands/conflicts.ts"
import { costCommand } from "./commands/cost.ts"
import { devCommand } from "./commands/dev.ts"
import { diffCommand } from "./commands/diff.ts"
import { evalCommand } from "./commands/eval.ts"
import { forkCommand } from "./commands/fork.ts"
import { exportCommand, importCommand } from "./commands/history.ts"
import { deadLettersCommand, historyCommand, tailCommand, traceCommand } from "./commands/inspect.ts"
import { purchaseOrdersCommand, stockCommand } from "./commands/procurement.ts"
import { projectionsCommand } from "./commands/projections.ts"
import { reactorsCommand } from "./commands/reactors.ts"
import { registersCommand } from "./commands/registers.ts"
import { replayCommand } from "./commands/replay.ts"
import { sandboxCommand } from "./commands/sandbox.ts"
import { streamsCommand } from "./commands/streams.ts"
import { ticketsCommand } from "./commands/tickets.ts"

/** The `mesh` command and its subcommands: definitions only; each handler loads its packages when it runs. */
export const mesh = Command.make("mesh").pipe(
  Command.withDescription(
    "Operate an Agent Mesh: local stack, streams, history, replays, causal traces, history files, counterfactual diffs, sandbox replays and forks, projections and their rebuilds, reactors and where their time goes, dead letters, approvals, shared registers, their conflicts, " +
      "customer-ops tickets, procurement's stock and purchase orders (over the agents' HTTP APIs), model cost per executed action and evals. " +
      "Data goes to stdout (--json: one object per line), logs and errors to stderr (MESH_LOG_LEVEL, MESH_LOG_FORMAT). " +
      "Exit codes: 0 success; 1 the command failed or refused; 2 usage error; 3 `streams` found drift; " +
      "4 infrastructure unreachable (NATS, nats-server or its store, Postgres, model server, an agent's HTTP API).",
  ),
  Command.withSubcommands([
    devCommand,
    streamsCommand,
    tailCommand,
    historyCommand,
    deadLettersCommand,
    projectionsCommand,
    reactorsCommand,
    traceCommand,
    replayCommand,
    exportCommand,
    importCommand,
    diffCommand,
    sandboxCommand,
    forkCommand,
    approvalsCommand,
    approveCommand,
    rejectCommand,
    costCommand,
    registersCommand,
    conflictsCommand,
    ticketsCommand,
    stockCommand,
    purchaseOrdersCommand,
    evalCommand,
  ]),
)
