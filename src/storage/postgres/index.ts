export { createPostgresDriver, type PostgresDriverOptions } from "./driver.js";
export { redactPostgresUrl } from "./redact-url.js";
