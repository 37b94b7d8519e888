import { createMemoryDriver } from "../../src/storage/memory/index.js";
import { runStorageContract } from "./contract.js";

runStorageContract("memory", async () => createMemoryDriver());
