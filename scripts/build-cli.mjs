// Part of `npm run build`: the command line's compiled modules (dist/, from tsc) bundled by esbuild into
// dist/bin/. Pure JavaScript packages are bundled too: Node reads a CommonJS package imported from an ES
// module with a lexer pass over its whole text (jsQR's 257 KB cost more than MicroPython's start), which
// bundled code does not need. jsQR itself is loaded with require() when a MaixPy script first looks for a
// QR code (src/maixpy/modules/image-ops.ts), so it is neither bundled nor lexed.
//
// - dist/bin/cli.js: the command line as one script (CommonJS format), which bin/kpusim.js runs through
//   vm.Script with V8's code cache (src/cli/script-loader.ts): Node 20 has no compile cache for ES
//   modules, and compiling them again at every start was the largest part of starting the command line.
//   A command's modules are still evaluated only when it runs: esbuild wraps each module reached by an
//   import() in a function named by its path, called on that import().
// - dist/bin/cli.cache: the code cache, made by a training run of the built command line (below), so it
//   holds the functions a run compiles lazily too.
// - the worker threads' entries, ES modules with shared chunks (each thread loads them itself).
import { build, transform } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
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

// The worker threads' entries, with the names their parents look for beside dist/bin/cli.js.
await build({
  entryPoints: {
    'sweep-worker': join(root, 'dist/cli/sweep-worker.js'),
    'camera-worker': join(root, 'dist/cli/camera-worker.js'),
    // bin/kpusim.js starts the camera worker with it before it loads the command line's script
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

/**
 * Packages that are ES modules only: a script cannot require() them, and import() gives a promise. Each is
 * bundled into the script as a module of the async functions kpusim calls, which import the package on
 * their first call and forward to it (esbuild fails the build if kpusim imports a name not listed here).
 */
const ESM_ONLY = { '@micropython/micropython-webassembly-pyscript': ['loadMicroPython'] };
const distDir = join(root, 'dist') + '/';
/** The package.json of the package a file belongs to. */
const findPackageJson = (file) => {
  for (let d = dirname(file); d !== dirname(d); d = dirname(d))
    if (existsSync(join(d, 'package.json'))) return join(d, 'package.json');
  throw new Error(`build-cli: no package.json above ${file}`);
};
const scriptImports = {
  name: 'kpusim-script-imports',
  setup(b) {
    const names = Object.keys(ESM_ONLY);
    const filter = new RegExp(`^(${names.map((n) => n.replace(/[/.-]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'esm-only' }));
    b.onLoad({ filter: /.*/, namespace: 'esm-only' }, (args) => ({
      contents: ESM_ONLY[args.path]
        .map(
          (f) => `export const ${f} = async (...a) => (await __kpusimImport(${JSON.stringify(args.path)})).${f}(...a);`,
        )
        .join('\n'),
      loader: 'js',
    }));
    // kpusim's own import() of a computed name (an optional package: onnxruntime-web, tfjs-node).
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(distDir)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      const computed = /\bimport\((?=[A-Za-z_$])/g;
      return computed.test(text) ? { contents: text.replace(computed, '__kpusimImport('), loader: 'js' } : undefined;
    });
  },
};
const script = join(out, 'cli.js');
const made = await build({
  stdin: {
    contents: "export { main } from './dist/cli/main.js';\n",
    resolveDir: root,
    sourcefile: 'cli-entry.js',
    loader: 'js',
  },
  outfile: script,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  logLevel: 'warning',
  // The wrapper's parameter (src/cli/script-loader.ts): the script's file URL, so files are found as from dist/bin/.
  define: { 'import.meta.url': '__kpusimUrl' },
  plugins: [patchDependencies, scriptImports],
  metafile: true,
});
// The script require()s the packages it imports statically: one that is an ES module only must be in ESM_ONLY.
const requireFromScript = createRequire(script);
for (const { path, kind, external: ext } of made.metafile.outputs[relative(root, script)].imports) {
  if (!ext || kind !== 'require-call' || isBuiltin(path) || path in ESM_ONLY) continue;
  const file = requireFromScript.resolve(path);
  const type = JSON.parse(readFileSync(findPackageJson(file), 'utf8')).type;
  if (file.endsWith('.mjs') || (file.endsWith('.js') && type === 'module'))
    throw new Error(`build-cli: ${path} is an ES module only (${file}): add it and the names kpusim uses to ESM_ONLY`);
}
// Every import() left in the script would fail once the script comes from the cache (and import.meta is no
// script syntax): the build stops on any outside a comment.
const text = readFileSync(script, 'utf8');
const left = text.split('\n').filter((l) => /\bimport\(|\bimport\.meta\b/.test(l) && !/^\s*(\*|\/\/|\/\*)/.test(l));
if (left.length > 0) throw new Error(`build-cli: import() or import.meta left in dist/bin/cli.js:\n${left.join('\n')}`);
/**
 * esbuild writes code in ASCII (its default charset) but keeps the comments it keeps as they were. An ASCII
 * script is a one-byte string for V8: half the memory of the two-byte string one other character makes, and
 * read without decoding UTF-8 (src/cli/script-loader.ts). The other characters of the comments become
 * `\u{…}` text; the script without its comments must be the same code before and after.
 */
const ascii = text.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
const code = async (t) => (await transform(t, { minifyWhitespace: true, charset: 'ascii' })).code;
if ((await code(ascii)) !== (await code(text)))
  throw new Error('build-cli: a character other than ASCII outside a comment');
writeFileSync(script, ascii);

/**
 * The training run: the maixpy command on its example, as the benchmark's first frame runs it (the largest
 * start), writes the code cache when it exits. Without a cache (the run failed) the command line is only
 * slower to start.
 */
const cache = join(out, 'cli.cache');
// the build writes nothing to the user's image cache (src/io/image-cache.ts)
const env = { ...process.env, KPUSIM_CODE_CACHE_OUT: cache, KPUSIM_CACHE_DIR: 'off' };
delete env.KPUSIM_TRACE;
const train = spawnSync(
  process.execPath,
  [
    join(root, 'bin/kpusim.js'),
    'maixpy',
    join(root, 'examples/maixpy/face_recognition.py'),
    '--camera',
    join(root, 'examples/images/grace_hopper.jpg'),
    '--frames',
    '1',
    '--json',
  ],
  { env, encoding: 'utf8' },
);
if (train.status !== 0 || !existsSync(cache))
  console.warn(
    `build-cli: no code cache (the training run ended with ${train.status}): ${train.stderr?.trim() ?? train.error}`,
  );
