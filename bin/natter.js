#!/usr/bin/env node
// The `natter` command: compiles the TypeScript sources first when they changed (inside a checkout), then
// runs the CLI from dist/.
import { existsSync } from "node:fs";

if (existsSync(new URL("../scripts/build-if-needed.mjs", import.meta.url))) {
  await import("../scripts/build-if-needed.mjs");
}
await import("../dist/src/main.js");
