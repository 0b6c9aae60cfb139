/**
 * Write-through of a served board's mapped folders: files a script writes into `/sd` or `/flash`
 * (the interpreter's in-memory file system, filled from `--sd` / `--flash-dir` at boot) land in the
 * mapped folder on the PC when the file is closed; `os.remove`, `os.rename`, `os.mkdir` and
 * `os.rmdir` are mirrored too. Nothing else on the PC is ever written:
 * - a path must stay inside its folder (no `..`), and every folder on the way and the file itself
 *   must not be a symbolic link (a link inside the folder never leads a write out of it);
 * - a file is capped at `MAX_FILE_BYTES`, as a card's FAT would refuse a file past its size.
 * A refused or failed host write is an `OSError` in the script (and a warning on stderr).
 *
 * Hooked at the Emscripten FS object the port's syscalls call (`FS.close`, `FS.write`, …).
 */
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { posix, resolve, join } from 'node:path';

/** Largest file a script may write into a mapped folder (the K210's 16 MiB flash is the largest store a board has). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

// Emscripten's errno numbers (WASI numbering).
const EIO = 29,
  EPERM = 63,
  EFBIG = 22;

export interface Mount {
  /** `/sd` or `/flash`. */
  readonly vfs: string;
  /** The PC folder. */
  readonly host: string;
}

interface Stream {
  readonly path: string;
  readonly flags: number;
  readonly position?: number;
}

interface Fs {
  open(path: string, flags: number | string, mode?: number): unknown;
  close(stream: Stream): unknown;
  write(stream: Stream, buffer: unknown, offset: number, length: number, position?: number): unknown;
  unlink(path: string): unknown;
  rmdir(path: string): unknown;
  mkdir(path: string, mode?: number): unknown;
  rename(from: string, to: string): unknown;
  readFile(path: string): Uint8Array;
  ErrnoError: new (errno: number) => Error;
}

/** Where `vfsPath` lies in a mount: the mount and the path's parts below it, or null. */
function locate(mounts: readonly Mount[], vfsPath: string): { mount: Mount; parts: string[] } | null {
  const p = posix.normalize(vfsPath);
  for (const m of mounts) {
    if (p === m.vfs || p.startsWith(m.vfs + '/')) {
      const parts = p
        .slice(m.vfs.length)
        .split('/')
        .filter((x) => x !== '');
      if (parts.some((x) => x === '..' || x === '.')) return null;
      return { mount: m, parts };
    }
  }
  return null;
}

/** The host path for `parts` under the mount's folder, after checking that no part on the way is a link. */
function hostPath(mount: Mount, parts: readonly string[], what: string): string {
  let cur = resolve(mount.host);
  for (let i = 0; i < parts.length; i++) {
    cur = join(cur, parts[i]);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      if (i < parts.length - 1) throw new Error(`${what}: ${cur} does not exist`);
      return cur;
    }
    if (st.isSymbolicLink()) throw new Error(`${what}: ${cur} is a symbolic link; a board write never follows one`);
    if (i < parts.length - 1 && !st.isDirectory()) throw new Error(`${what}: ${cur} is not a folder`);
  }
  return cur;
}

export function mirrorWrites(fsObject: unknown, mounts: readonly Mount[], warn: (text: string) => void): void {
  if (mounts.length === 0) return;
  const FS = fsObject as Fs;
  const fail = (e: unknown, errno = EPERM): Error => {
    warn(`board file system: ${e instanceof Error ? e.message : String(e)}`);
    return new FS.ErrnoError(errno);
  };
  // Each hook runs the in-memory operation first (it raises the script's own errors), then the host's.
  const orig = {
    open: FS.open.bind(FS),
    close: FS.close.bind(FS),
    write: FS.write.bind(FS),
    unlink: FS.unlink.bind(FS),
    rmdir: FS.rmdir.bind(FS),
    mkdir: FS.mkdir.bind(FS),
    rename: FS.rename.bind(FS),
  };
  // Opening for writing checks the host path first, so a refused write is an OSError at `open`.
  FS.open = (path, flags, mode) => {
    const writing = typeof flags === 'number' ? (flags & 3) !== 0 : /[wa+]/.test(flags);
    const at = writing ? locate(mounts, path) : null;
    if (at && at.parts.length > 0) {
      try {
        hostPath(at.mount, at.parts, path);
      } catch (e) {
        throw fail(e);
      }
    }
    return orig.open(path, flags, mode);
  };
  FS.write = (stream, buffer, offset, length, position) => {
    if (locate(mounts, stream.path)) {
      const at = position ?? stream.position ?? 0;
      if (at + length > MAX_FILE_BYTES)
        throw fail(
          new Error(`${stream.path}: a file in a mapped folder is capped at ${MAX_FILE_BYTES >> 20} MiB`),
          EFBIG,
        );
    }
    return orig.write(stream, buffer, offset, length, position);
  };
  FS.close = (stream) => {
    const path = stream.path;
    const writing = (stream.flags & 3) !== 0;
    const r = orig.close(stream);
    const at = writing ? locate(mounts, path) : null;
    if (at && at.parts.length > 0) {
      let fd: number | undefined;
      try {
        const host = hostPath(at.mount, at.parts, path);
        const bytes = FS.readFile(path);
        fd = openSync(host, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
        let done = 0;
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      } catch (e) {
        throw fail(e, EIO);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    return r;
  };
  FS.unlink = (path) => {
    const r = orig.unlink(path);
    const at = locate(mounts, path);
    if (at && at.parts.length > 0) {
      try {
        const host = hostPath(at.mount, at.parts, path);
        const st = lstatSync(host, { throwIfNoEntry: false });
        if (st?.isFile()) unlinkSync(host);
      } catch (e) {
        throw fail(e);
      }
    }
    return r;
  };
  FS.rmdir = (path) => {
    const r = orig.rmdir(path);
    const at = locate(mounts, path);
    if (at && at.parts.length > 0) {
      try {
        const host = hostPath(at.mount, at.parts, path);
        if (lstatSync(host, { throwIfNoEntry: false })?.isDirectory()) rmdirSync(host);
      } catch (e) {
        throw fail(e);
      }
    }
    return r;
  };
  FS.mkdir = (path, mode) => {
    const r = orig.mkdir(path, mode);
    const at = locate(mounts, path);
    if (at && at.parts.length > 0) {
      try {
        const host = hostPath(at.mount, at.parts, path);
        if (!lstatSync(host, { throwIfNoEntry: false })) mkdirSync(host);
      } catch (e) {
        throw fail(e);
      }
    }
    return r;
  };
  FS.rename = (from, to) => {
    const r = orig.rename(from, to);
    const a = locate(mounts, from),
      b = locate(mounts, to);
    try {
      if (a && b && a.parts.length > 0 && b.parts.length > 0) {
        const src = hostPath(a.mount, a.parts, from),
          dst = hostPath(b.mount, b.parts, to);
        if (lstatSync(src, { throwIfNoEntry: false })) renameSync(src, dst);
      } else if (b && b.parts.length > 0) {
        // moved in from outside the mapped folders: the file appears there
        const dst = hostPath(b.mount, b.parts, to);
        const fd = openSync(
          dst,
          constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
          0o644,
        );
        try {
          const bytes = FS.readFile(to);
          let done = 0;
          while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
        } finally {
          closeSync(fd);
        }
      } else if (a && a.parts.length > 0) {
        const src = hostPath(a.mount, a.parts, from);
        if (lstatSync(src, { throwIfNoEntry: false })?.isFile()) unlinkSync(src);
      }
    } catch (e) {
      throw fail(e);
    }
    return r;
  };
}
