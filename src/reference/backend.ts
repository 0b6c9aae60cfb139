/**
 * The TensorFlow.js engine behind the float reference. `@tensorflow/tfjs-core` with the `wasm`
 * backend (XNNPACK kernels, its .wasm files loaded from the installed package), falling back to
 * the pure-JavaScript `cpu` backend and saying so. `@tensorflow/tfjs-node` is never required: it
 * is used only when asked for by name and already installed (its install script downloads
 * libtensorflow, which an offline machine cannot do).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export { tf };

export type ReferenceBackendName = 'wasm' | 'cpu' | 'tensorflow';

export interface BackendInfo {
  /** The backend the reference runs on. */
  readonly name: ReferenceBackendName;
  /** Set when the requested backend could not be used (also written to `warn`). */
  readonly note?: string;
}

let ready: Promise<BackendInfo> | undefined;
let readyFor: ReferenceBackendName | undefined;

/** Directory of the installed wasm backend's .wasm files (node_modules/@tensorflow/tfjs-backend-wasm/dist/). */
export function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

/** Switches backend; what the backend prints while failing (emscripten aborts) is collected, not shown. */
async function trySet(name: string, said: string[] = []): Promise<boolean> {
  const saved = [console.log, console.warn, console.error];
  const keep = (...a: unknown[]) => void said.push(a.map(String).join(' '));
  console.log = console.warn = console.error = keep;
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch (e) {
    said.push(e instanceof Error ? e.message : String(e));
    return false;
  } finally {
    [console.log, console.warn, console.error] = saved;
  }
}

async function initOnce(want: ReferenceBackendName, warn: (msg: string) => void): Promise<BackendInfo> {
  // Production mode: no per-op debug checks, and no console advice to install tfjs-node.
  tf.env().set('PROD', true);
  if (want === 'tensorflow') {
    try {
      const spec = '@tensorflow/tfjs-node';
      await import(spec);
      if (await trySet('tensorflow')) return { name: 'tensorflow' };
    } catch {
      /* not installed: fall through */
    }
    const note =
      '@tensorflow/tfjs-node is not installed (or uses another copy of tfjs-core); the float reference uses the wasm backend';
    warn(`kpusim: ${note}\n`);
    const next = await initOnce('wasm', warn);
    return { name: next.name, note: next.note ? `${note}; ${next.note}` : note };
  }
  if (want === 'wasm') {
    let detail: string;
    try {
      const dir = wasmDirectory();
      if (!existsSync(join(dir, 'tfjs-backend-wasm.wasm'))) detail = `no tfjs-backend-wasm.wasm in ${dir}`;
      else {
        setWasmPaths(dir);
        const said: string[] = [];
        if (await trySet('wasm', said)) return { name: 'wasm' };
        detail = said[0]?.split('\n')[0] ?? 'setBackend refused it';
      }
    } catch (e) {
      detail = e instanceof Error ? e.message : String(e);
    }
    const note = `the tfjs wasm backend could not start (${detail}); the float reference runs on the slower cpu backend`;
    warn(`kpusim: ${note}\n`);
    if (await trySet('cpu')) return { name: 'cpu', note };
    throw new Error('no TensorFlow.js backend could be started (wasm and cpu both failed)');
  }
  if (await trySet('cpu')) return { name: 'cpu' };
  throw new Error('the TensorFlow.js cpu backend could not be started');
}

/**
 * Starts the backend once per process (later calls return the same promise). The first caller
 * chooses; a later call asking for another backend switches to it.
 */
export function initReferenceBackend(
  want: ReferenceBackendName = 'wasm',
  warn: (msg: string) => void = (m) => process.stderr.write(m),
): Promise<BackendInfo> {
  if (!ready || readyFor !== want) {
    readyFor = want;
    ready = initOnce(want, warn);
  }
  return ready;
}
