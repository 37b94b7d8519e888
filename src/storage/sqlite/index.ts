export { createSqliteDriver } from "./driver.js";
