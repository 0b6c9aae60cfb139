#!/usr/bin/env node
// The command line is one script, dist/bin/cli.js, with V8's code cache dist/bin/cli.cache, both made by
// `npm run build` (scripts/build-cli.mjs; how they are loaded: src/cli/script-loader.ts).
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, URL } from 'node:url';

const argv = process.argv.slice(2);
const script = fileURLToPath(new URL('../dist/bin/cli.js', import.meta.url));
if (argv.length === 1 && argv[0] === '--version') {
  // The one thing asked for without a command, answered as src/cli/main.ts does, without loading the command line.
  process.stdout.write(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version + '\n');
} else if (!existsSync(script)) {
  process.stderr.write('kpusim: the command line is not built (dist/bin/cli.js is missing): run npm run build\n');
  process.exitCode = 1;
} else {
  // `kpusim maixpy … --camera FILES`: the files start decoding in a worker thread while the command line loads.
  if (argv[0] === 'maixpy' && argv.some((a) => a.startsWith('--camera')))
    (await import('../dist/bin/camera-prefetch.js')).startCameraPrefetch(argv);
  const { loadScript } = await import('../dist/cli/script-loader.js');
  const cli = loadScript(script, {
    cacheFile: fileURLToPath(new URL('../dist/bin/cli.cache', import.meta.url)),
    // the script's import(): packages resolve from here as from dist/bin/
    importer: (specifier) => import(specifier),
    // the build's training run (scripts/build-cli.mjs)
    trainTo: process.env.KPUSIM_CODE_CACHE_OUT || undefined,
  });
  if (process.env.KPUSIM_TRACE)
    process.stderr.write(
      `kpusim trace: ${performance.now().toFixed(1)} ms command line loaded (code cache ${cli.cache})\n`,
    );
  process.exitCode = await cli.exports.main(argv);
}
