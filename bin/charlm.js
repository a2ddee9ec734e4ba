#!/usr/bin/env node
// Thin shim: the CLI lives in dist/cli/main.js (built by `npm install` / `npm run build`).
import '../dist/cli/main.js';
