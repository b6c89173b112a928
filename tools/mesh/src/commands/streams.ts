import { Command, Flag } from "effect/cli"
import { jsonFlag, lazily, namespaceFlag, natsUrlFlag } from "./shared.ts"

/** `mesh streams [--update]`: declare the namespace's streams; report drift, rewrite only with --update. */
export const streamsCommand = Command.make(
  "streams",
  {
    update: Flag.Boolean("update").pipe(
      Flag.withDefault(false),
      Flag.withDescription("rewrite drifted streams to their declaration"),
    ),
    replicas: Flag.Int("replicas").pipe(Flag.withDefault(1), Flag.withDescription("replicas of each stream")),
    json: jsonFlag,
    natsUrl: natsUrlFlag,
    namespace: namespaceFlag,
  },
  (args) =>
    lazily(
      () => import("../handlers/streams.ts"),
      (h) => h.streams(args),
    ),
).pipe(Command.withDescription("Declare the event streams and report drift (exit 3 when a stream drifted)"))
