// Part of `npm run build`: the command line's compiled modules (dist/, from tsc) bundled into a
// few files under dist/bin/, which bin/kpusim.js starts. Node loads an ES module file by file, and
// the ~180 small modules that `kpusim info` needs cost more to find, read and link than to run;
// bundled (esbuild, with code splitting so each command still loads only what it uses) they load
// as a handful. Pure JavaScript packages are bundled too: Node reads a CommonJS package imported
// from an ES module with a lexer pass over its whole text (jsQR's 257 KB cost more than MicroPython's
// start), which bundled code does not need. jsQR itself is loaded with require() when a MaixPy script
// first looks for a QR code (src/maixpy/modules/image-ops.ts), so it is neither bundled nor lexed.
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
 * Four lines of yargs and its dependencies changed in the bundle, each found by its exact text (a version
 * without it is bundled as it is, with a warning):
 * - `string-width` builds an `Intl.Segmenter` and a `\p{RGI_Emoji}` regular expression when it is
 *   loaded: loading the ICU segmentation data and the emoji sequences are the largest costs of
 *   starting the CLI, and only help and error texts measure a width. In the bundle both are made
 *   on first use.
 * - yargs imports Node's `assert` (loading it costs as much as a tenth of starting Node) for two
 *   checks of its own invariants: in the bundle they are two small functions that throw the same
 *   way when a check fails (an Error with the given message).
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
    file: /[\\/]string-width[\\/]index\.js$/,
    from: String.raw`const rgiEmojiRegex = /^\p{RGI_Emoji}$/v;`,
    to: String.raw`let madeRgiEmojiRegex; const rgiEmojiRegex = { test: (s) => (madeRgiEmojiRegex ??= /^\p{RGI_Emoji}$/v).test(s) };`,
  },
  {
    file: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/,
    from: "import { notStrictEqual, strictEqual } from 'assert'",
    to:
      'const notStrictEqual = (a, b, m) => { if (Object.is(a, b)) throw m instanceof Error ? m : new Error(m ?? `yargs: unexpected ${String(b)}`); };\n' +
      'const strictEqual = (a, b, m) => { if (!Object.is(a, b)) throw m instanceof Error ? m : new Error(m ?? `yargs: expected ${String(b)}`); };',
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
    // Each file gets every patch whose pattern names it (a package may be bundled in several
    // versions, and not all of them hold every line); a patch that changed no file is a warning.
    const used = new Set();
    const filter = new RegExp(PATCHES.map((p) => p.file.source).join('|'));
    b.onLoad({ filter }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      for (const p of PATCHES)
        if (p.file.test(args.path) && text.includes(p.from)) {
          text = text.replace(p.from, p.to);
          used.add(p);
        }
      return { contents: text, loader: 'js' };
    });
    b.onEnd((result) => {
      for (const p of PATCHES)
        if (!used.has(p)) result.warnings.push({ text: `build-cli: not found in any bundled file: ${p.from}` });
    });
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  // The workers keep the names their parents look for beside themselves.
  entryPoints: {
    main: join(root, 'dist/cli/main.js'),
    'sweep-worker': join(root, 'dist/cli/sweep-worker.js'),
    'camera-worker': join(root, 'dist/cli/camera-worker.js'),
    // bin/kpusim.js starts the camera prefetch before it loads main
    'camera-prefetch': join(root, 'dist/cli/camera-prefetch.js'),
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
