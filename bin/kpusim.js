#!/usr/bin/env node
// dist/bin/ is the command line bundled by `npm run build` (scripts/build-cli.mjs).
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

if (!existsSync(new URL('../dist/bin/main.js', import.meta.url))) {
  process.stderr.write('kpusim: the command line is not built (dist/bin/main.js is missing): run npm run build\n');
  process.exit(1);
}
// `kpusim maixpy … --camera FILES`: the files start decoding in a worker thread while the command line loads.
if (process.argv[2] === 'maixpy' && process.argv.some((a) => a.startsWith('--camera')))
  (await import('../dist/bin/camera-prefetch.js')).startCameraPrefetch(process.argv.slice(2));
const { main } = await import('../dist/bin/main.js');
process.exitCode = await main(process.argv.slice(2));
