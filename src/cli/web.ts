/**
 * `kpusim web [--port 8210] [--open]`: serves the browser app (`npm run build:web` writes it to
 * dist-web/ beside dist/) on 127.0.0.1 only. A small static server: GET and HEAD of files inside the
 * folder, nothing else. It sends the two headers that make the page cross-origin isolated
 * (`Cross-Origin-Opener-Policy`, `Cross-Origin-Embedder-Policy`), so the page can share memory with
 * its worker: Stop, the BOOT key and the webcam reach a running script (docs/web.md).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { Command } from './command.js';
import { printJson, type Io } from './common.js';

/** dist-web/ of the package (dist/cli → ../../dist-web); `KPUSIM_WEB_DIR` overrides it. */
export function webRoot(): string {
  return process.env.KPUSIM_WEB_DIR ?? resolve(fileURLToPath(new URL('../../dist-web', import.meta.url)));
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.bmp': 'image/bmp',
  '.py': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Serves `root` on 127.0.0.1:`port` (0: any free port); resolves with the server and its URL. */
export function serveStatic(root: string, port: number): Promise<{ server: Server; url: string }> {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const headers: Record<string, string> = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400, headers).end('bad request');
      return;
    }
    let file = resolve(base, '.' + path);
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) file = join(file, 'index.html');
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(st.size),
    });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'EADDRINUSE'
          ? new UsageError('BAD_ARGUMENT', `--port ${port}: the port is in use; pick another (--port 0: any free port)`)
          : e,
      ),
    );
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const p = typeof a === 'object' && a ? a.port : port;
      ok({ server, url: `http://127.0.0.1:${p}/` });
    });
  });
}

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

export const webCommand: Command = {
  command: 'web',
  describe:
    'Serve the browser app on localhost: the virtual MaixPy board (webcam, LCD, console) and the model inspector',
  builder: (y: Argv) =>
    y
      .option('port', { type: 'number', default: 8210, describe: 'port on 127.0.0.1 (0: any free port)' })
      .option('open', { type: 'boolean', default: false, describe: 'open the page in the default browser' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print one JSON document with the URL once the server listens',
      }),
  async run(args: Record<string, unknown>, io: Io): Promise<number> {
    const port = Number(args.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('BAD_ARGUMENT', `--port takes a port number from 0 to 65535, got ${String(args.port)}`);
    const root = webRoot();
    if (!existsSync(join(root, 'index.html')))
      throw new UsageError('NOT_FOUND', `${root}: the browser app is not built; run \`npm run build:web\` first`);
    const { server, url } = await serveStatic(root, port);
    if (args.json) printJson(io, { url, root });
    else io.out(`kpusim web: serving ${root} at ${url} (Ctrl-C stops)\n`);
    if (args.open) openBrowser(url);
    await new Promise<void>((done) => {
      const stop = (): void => {
        server.close();
        done();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
