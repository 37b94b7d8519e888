export { createSqliteDriver, openSqliteTables } from "./driver.js";
