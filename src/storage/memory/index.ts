export { createMemoryDriver } from "./driver.js";
