/**
 * Globals the library expects from Node, for the browser build (esbuild `inject`): `Buffer` (the
 * `buffer` package, as browserify provides it) and a `process` with an empty environment whose
 * working directory is the memory file system's root (platform/browser/fs.ts).
 */
import { Buffer as BufferPolyfill } from 'buffer/'; // the npm package (a bare 'buffer' names Node's own)

export const Buffer = BufferPolyfill;
export const process = {
  env: { KPUSIM_MODELS_DIR: '/models' } as Record<string, string | undefined>,
  cwd: () => '/',
  platform: 'browser',
  argv: [] as string[],
  versions: {} as Record<string, string>,
  /** Nothing is a terminal here; the page shows what the library returns, not what it writes. */
  stdout: { isTTY: false, write: (): boolean => true },
  stderr: { isTTY: false, write: (): boolean => true },
};
