#!/usr/bin/env node
// The `natter` command: runs the compiled CLI (npm start / npm run build produce dist/).
import "../dist/src/main.js";
