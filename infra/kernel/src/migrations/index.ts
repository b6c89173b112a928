/** Per-schema migrations with kysely's migrator, run once across replicas under an advisory lock. */
export { MigrationError, type MigrationPlan, type MigrationReport, runMigrations } from "./migrations.ts"
