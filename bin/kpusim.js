#!/usr/bin/env node
// dist/bin/ is the command line bundled by `npm run build` (scripts/build-cli.mjs).
import { main } from '../dist/bin/main.js';

process.exitCode = await main(process.argv.slice(2));
