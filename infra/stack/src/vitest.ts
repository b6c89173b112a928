import { afterAll, beforeAll } from "vitest"
import { type NatsServerHandle, type NatsServerOptions, startNatsServer } from "./natsServer.ts"
import { type QuietLane, takeQuietLane } from "./quietLane.ts"
import { freshPostgresSchema, type NatsServerFixture, type PostgresTestSchema } from "./testing.ts"

/**
 * Call at the top level of a test file: one private nats-server is started in beforeAll and
 * stopped in afterAll, for that file only.
 */
export const useNatsServer = (options: NatsServerOptions = {}): NatsServerFixture => {
  let server: NatsServerHandle | undefined
  beforeAll(async () => {
    server = await startNatsServer(options)
  })
  afterAll(async () => {
    await server?.stop()
  })
  const current = (): NatsServerHandle => {
    if (!server)
      throw new Error("useNatsServer(): the server starts in beforeAll; read it inside a test or hook")
    return server
  }
  return {
    get url() {
      return current().url
    },
    get server() {
      return current()
    },
  }
}

/**
 * Call first, at the top level of a test file whose assertions time recoveries: the file waits
 * in beforeAll until no other such file runs (in any worker), and lets go in afterAll. The test
 * run puts these files in a lane beside steady, untimed load specs; see vitest.config.ts.
 */
export const useQuietLane = (): void => {
  let lane: QuietLane | undefined
  // Waiting may last as long as the longest file that holds the lane.
  beforeAll(async () => {
    lane = await takeQuietLane()
  }, 30 * 60_000)
  afterAll(async () => {
    await lane?.release()
  })
}

/** Call at the top level of a test file: a fresh schema per file, created in beforeAll, dropped in afterAll. */
export const usePostgresSchema = (
  options: { readonly url?: string; readonly prefix?: string } = {},
): { readonly postgres: PostgresTestSchema; readonly schema: string } => {
  let current: PostgresTestSchema | undefined
  beforeAll(async () => {
    current = await freshPostgresSchema(options)
  })
  afterAll(async () => {
    await current?.close()
  })
  const get = (): PostgresTestSchema => {
    if (!current)
      throw new Error(
        "usePostgresSchema(): the schema is created in beforeAll; read it inside a test or hook",
      )
    return current
  }
  return {
    get postgres() {
      return get()
    },
    get schema() {
      return get().schema
    },
  }
}
