// `npm run build:web`: the browser app (src/web) as a static folder, dist-web/, that any static file
// server can serve (kpusim web serves it with the headers that enable Stop and the webcam; see
// docs/web.md). esbuild bundles the page scripts and the board worker; the library's Node-only
// modules are mapped to their browser versions in src/platform/browser.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'dist-web'));
const require = createRequire(import.meta.url);
const platform = join(root, 'src', 'platform', 'browser');

/** Node modules the library imports, and what stands for each in the browser. */
const NODE_SHIMS = {
  'node:fs': join(platform, 'fs.ts'),
  'node:url': join(platform, 'url.ts'),
  'node:vm': join(platform, 'vm.ts'),
  'node:worker_threads': join(platform, 'worker_threads.ts'),
  'node:module': join(platform, 'module.ts'),
  'node:path': require.resolve('path-browserify'),
  pngjs: require.resolve('pngjs/browser.js'),
};

const browserShims = {
  name: 'kpusim-browser-shims',
  setup(b) {
    b.onResolve({ filter: /^(node:(fs|url|vm|path|worker_threads|module)|pngjs)$/ }, (args) => ({
      path: NODE_SHIMS[args.path],
    }));
    // MicroPython's loader imports these only when it runs in Node.
    b.onResolve({ filter: /^(fs|path|url|module|crypto)$/ }, (args) =>
      args.importer.includes('micropython-webassembly') ? { path: args.path, external: true } : undefined,
    );
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: {
    worker: join(root, 'src/web/worker.ts'),
    board: join(root, 'src/web/app/board.ts'),
    model: join(root, 'src/web/app/model.ts'),
    'virtual-board': join(root, 'src/web/virtual-board.ts'),
    'virtual-serial': join(root, 'src/web/app/virtual-serial.ts'),
  },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  inject: [join(platform, 'globals.ts')],
  plugins: [browserShims],
  logLevel: 'warning',
});

const copy = (from, to) => cpSync(join(root, from), join(out, to), { recursive: true });
for (const f of readdirSync(join(root, 'src/web/static'))) copy(join('src/web/static', f), f);
cpSync(
  require.resolve('@micropython/micropython-webassembly-pyscript/micropython.wasm'),
  join(out, 'micropython.wasm'),
);
mkdirSync(join(out, 'models'));
for (const f of readdirSync(join(root, 'models')))
  if (f === 'manifest.json' || f.endsWith('.kmodel')) copy(join('models', f), join('models', f));
copy('examples/images', 'examples/images');
copy('examples/maixpy', 'examples/maixpy');

let bytes = 0;
const walk = (d) => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else bytes += st.size;
  }
};
walk(out);
console.log(`kpusim web: built ${out} (${(bytes / 1024 / 1024).toFixed(1)} MiB)`);
