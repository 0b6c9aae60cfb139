// Part of `npm run build`: the command line's compiled modules (dist/, from tsc) bundled into a
// few files under dist/bin/, which bin/kpusim.js starts. Node loads an ES module file by file, and
// the ~180 small modules that `kpusim info` needs cost more to find, read and link than to run;
// bundled (esbuild, with code splitting so each command still loads only what it uses) they load
// as a handful. Packages in node_modules stay outside the bundle except the argument parser's.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bin');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Every package kpusim depends on stays a runtime import, except yargs (pure JavaScript, ~30 files). */
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]
  .filter((name) => name !== 'yargs')
  .flatMap((name) => [name, `${name}/*`]);

/**
 * yargs measures text widths with `string-width`, which builds an `Intl.Segmenter` when it is
 * loaded: loading the ICU segmentation data is the largest single cost of starting the CLI, and
 * only help and error texts ever measure a width. In the bundle the segmenter is made on first use.
 * A version of the package without that line is bundled as it is (a warning says so).
 */
const SEGMENTER = 'const segmenter = new Intl.Segmenter();';
const lazySegmenter = {
  name: 'kpusim-lazy-segmenter',
  setup(b) {
    b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes(SEGMENTER)) {
        return { contents: text, loader: 'js', warnings: [{ text: 'string-width: segmenter made at load time' }] };
      }
      const lazy =
        'let madeSegmenter; const segmenter = { segment: (s) => (madeSegmenter ??= new Intl.Segmenter()).segment(s) };';
      return { contents: text.replace(SEGMENTER, lazy), loader: 'js' };
    });
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  // The workers keep the names their parents look for beside themselves.
  entryPoints: {
    main: join(root, 'dist/cli/main.js'),
    'sweep-worker': join(root, 'dist/cli/sweep-worker.js'),
    worker: join(root, 'dist/hil/virtual/worker.js'),
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  plugins: [lazySegmenter],
  // Modules bundled from CommonJS call require(): give them one.
  banner: {
    js: "import { createRequire as __kpusimRequire } from 'node:module'; const require = __kpusimRequire(import.meta.url);",
  },
});
