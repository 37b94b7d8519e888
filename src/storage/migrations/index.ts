export type { Migration } from "./migration.js";
export { migrations } from "./list.js";
export { type MigrationResult, migrateToLatest } from "./migrate.js";
