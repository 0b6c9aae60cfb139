/**
 * `node:fs` in the browser build: an in-memory file system the page fills (camera images, the
 * bundled models, an SD card folder, dropped `.kmodel` files). The library reads files through
 * `node:fs` (io/read-file.ts, maixpy/storage.ts, maixpy/camera.ts); the browser build (scripts/build-web.mjs)
 * maps that module to this one, so the same checks and error messages apply to the page's files.
 * Only the calls the browser build reaches are provided; the others throw ENOSYS.
 */

const files = new Map<string, Uint8Array>();
const dirs = new Set<string>(['/']);

function norm(p: string): string {
  const parts: string[] = [];
  for (const s of String(p).split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') parts.pop();
    else parts.push(s);
  }
  return '/' + parts.join('/');
}

function fsError(code: string, syscall: string, path: string): Error {
  const e = new Error(`${code}: ${syscall} '${path}'`) as Error & { code: string; syscall: string; path: string };
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

function addParents(p: string): void {
  let d = p;
  while (d !== '/') {
    d = d.slice(0, d.lastIndexOf('/')) || '/';
    dirs.add(d);
  }
}

/** Puts a file into the memory file system (creating its folders). */
export function putFile(path: string, bytes: Uint8Array): void {
  const p = norm(path);
  files.set(p, bytes);
  addParents(p);
}

/** Removes every file and folder under `path` (the folder itself too). */
export function removeTree(path: string): void {
  const p = norm(path);
  for (const f of [...files.keys()]) if (f === p || f.startsWith(p + '/')) files.delete(f);
  for (const d of [...dirs]) if (d !== '/' && (d === p || d.startsWith(p + '/'))) dirs.delete(d);
}

export interface MemStats {
  readonly size: number;
  readonly mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}

function stats(size: number, dir: boolean): MemStats {
  return {
    size,
    mtimeMs: 0,
    isFile: () => !dir,
    isDirectory: () => dir,
    isFIFO: () => false,
    isCharacterDevice: () => false,
    isBlockDevice: () => false,
    isSocket: () => false,
    isSymbolicLink: () => false,
  };
}

export function statSync(path: string, opts?: { throwIfNoEntry?: boolean }): MemStats | undefined {
  const p = norm(path);
  const f = files.get(p);
  if (f) return stats(f.length, false);
  if (dirs.has(p)) return stats(0, true);
  if (opts?.throwIfNoEntry === false) return undefined;
  throw fsError('ENOENT', 'stat', path);
}

/** The memory file system has no links: lstat is stat. */
export function lstatSync(path: string, opts?: { throwIfNoEntry?: boolean }): MemStats | undefined {
  return statSync(path, opts);
}

export function existsSync(path: string): boolean {
  const p = norm(path);
  return files.has(p) || dirs.has(p);
}

export function realpathSync(path: string): string {
  if (!existsSync(path)) throw fsError('ENOENT', 'realpath', path);
  return norm(path);
}

export function readdirSync(path: string): string[] {
  const p = norm(path);
  if (!dirs.has(p)) throw fsError(files.has(p) ? 'ENOTDIR' : 'ENOENT', 'scandir', path);
  const prefix = p === '/' ? '/' : p + '/';
  const names = new Set<string>();
  for (const k of [...files.keys(), ...dirs])
    if (k !== p && k.startsWith(prefix)) names.add(k.slice(prefix.length).split('/')[0]);
  return [...names].sort();
}

export function readFileSync(path: string, enc?: string | { encoding?: string }): Uint8Array | string {
  const p = norm(path);
  const f = files.get(p);
  if (!f) throw fsError(dirs.has(p) ? 'EISDIR' : 'ENOENT', 'open', path);
  const encoding = typeof enc === 'string' ? enc : enc?.encoding;
  return encoding ? new TextDecoder().decode(f) : f;
}

export function writeFileSync(path: string, data: Uint8Array | string): void {
  putFile(path, typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
}

export function mkdirSync(path: string): void {
  const p = norm(path);
  dirs.add(p);
  addParents(p);
}

const open = new Map<number, string>();
let nextFd = 3;

export const constants = { O_RDONLY: 0, O_NONBLOCK: 0, O_NOCTTY: 0 };

export function openSync(path: string): number {
  const p = norm(path);
  if (!files.has(p)) throw fsError(dirs.has(p) ? 'EISDIR' : 'ENOENT', 'open', path);
  const fd = nextFd++;
  open.set(fd, p);
  return fd;
}

function fdPath(fd: number): string {
  const p = open.get(fd);
  if (p === undefined) throw fsError('EBADF', 'fstat', String(fd));
  return p;
}

export function fstatSync(fd: number): MemStats {
  return statSync(fdPath(fd))!;
}

/** Reads sequentially (the library reads files front to back; `position` is always null). */
const offsets = new Map<number, number>();
export function readSync(fd: number, buf: Uint8Array, offset: number, length: number): number {
  const f = files.get(fdPath(fd)) ?? new Uint8Array(0);
  const at = offsets.get(fd) ?? 0;
  const n = Math.max(0, Math.min(length, f.length - at));
  buf.set(f.subarray(at, at + n), offset);
  offsets.set(fd, at + n);
  return n;
}

export function closeSync(fd: number): void {
  open.delete(fd);
  offsets.delete(fd);
}

function unsupported(name: string): () => never {
  return () => {
    throw fsError('ENOSYS', name, '');
  };
}

export const renameSync = unsupported('rename');
export const rmdirSync = unsupported('rmdir');
export const unlinkSync = unsupported('unlink');
export const writeSync = unsupported('write');
