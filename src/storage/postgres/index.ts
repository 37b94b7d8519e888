export { createPostgresDriver, openPostgresTables, type PostgresDriverOptions } from "./driver.js";
export { redactPostgresUrl } from "./redact-url.js";
