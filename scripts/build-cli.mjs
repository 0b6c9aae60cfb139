// Part of `npm run build`: the command line's compiled modules (dist/, from tsc) bundled into a
// few files under dist/bin/, which bin/kpusim.js starts. Node loads an ES module file by file, and
// the ~180 small modules that `kpusim info` needs cost more to find, read and link than to run;
// bundled (esbuild, with code splitting so each command still loads only what it uses) they load
// as a handful. Pure JavaScript packages are bundled too: Node reads a CommonJS package imported
// from an ES module with a lexer pass over its whole text (jsQR's 257 KB cost more than MicroPython's
// start), which bundled code does not need.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bin');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/**
 * Packages that stay runtime imports: those that find files beside their own code (WebAssembly
 * binaries, native bindings) and the optional ONNX runtime. Anything else is bundled. A new
 * dependency of that kind must be added here (its files would not be found from dist/bin/).
 */
const RUNTIME_PACKAGES = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@micropython/micropython-webassembly-pyscript',
  'serialport',
  '@serialport/stream',
  'onnxruntime-web',
];
const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
for (const name of RUNTIME_PACKAGES)
  if (!declared.includes(name))
    throw new Error(`build-cli: ${name} is not a dependency any more: update RUNTIME_PACKAGES`);
const external = RUNTIME_PACKAGES.flatMap((name) => [name, `${name}/*`]);

/**
 * Two lines of yargs' dependencies changed in the bundle, each found by its exact text (a version
 * without it is bundled as it is, with a warning):
 * - `string-width` builds an `Intl.Segmenter` when it is loaded: loading the ICU segmentation data
 *   is the largest single cost of starting the CLI, and only help and error texts measure a width.
 *   In the bundle the segmenter is made on first use.
 * - yargs looks for the package.json nearest to its own folder for a default version string, by
 *   reading directories upward from the folder above `node_modules`; bundled it has none, and it
 *   would read upward from the user's working directory. In the bundle it starts at the package's
 *   root (dist/bin/../..). yargs' translations of its own messages are not bundled: they are in
 *   English whatever the locale, like kpusim's.
 */
const PATCHES = [
  {
    file: /[\\/]string-width[\\/]index\.js$/,
    from: 'const segmenter = new Intl.Segmenter();',
    to: 'let madeSegmenter; const segmenter = { segment: (s) => (madeSegmenter ??= new Intl.Segmenter()).segment(s) };',
  },
  {
    file: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/,
    from: "const mainFilename = __dirname.substring(0, __dirname.lastIndexOf('node_modules'));",
    to: "const mainFilename = fileURLToPath(new URL('../../', import.meta.url));",
  },
];
const patchDependencies = {
  name: 'kpusim-patch-dependencies',
  setup(b) {
    for (const { file, from, to } of PATCHES) {
      b.onLoad({ filter: file }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes(from)) return { contents: text, loader: 'js', warnings: [{ text: `not found: ${from}` }] };
        return { contents: text.replace(from, to), loader: 'js' };
      });
    }
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
  plugins: [patchDependencies],
  // Modules bundled from CommonJS call require(): give them one.
  banner: {
    js: "import { createRequire as __kpusimRequire } from 'node:module'; const require = __kpusimRequire(import.meta.url);",
  },
});
