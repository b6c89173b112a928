import { defineConfig } from "vitest/config"

// Unit specs are pure and fast; integration and end-to-end specs start real servers
// (a private nats-server per file, Postgres, PGlite, LanceDB), so they get longer timeouts
// and run with limited parallelism on these 2-core machines.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/src/**/*.unit.spec.ts"],
          exclude: ["**/node_modules/**"],
        },
      },
      {
        test: {
          name: "int",
          include: ["**/src/**/*.int.spec.ts", "**/src/**/*.e2e.spec.ts"],
          exclude: ["**/node_modules/**"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
        },
      },
    ],
  },
})
