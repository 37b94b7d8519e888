export { migrations } from "./list.js";
export { type MigrationResult, migrateToLatest } from "./migrate.js";
export type { Migration } from "./migration.js";
