/**
 * The one way kpusim reads a file a user names (models, packages, images, tensors, stores,
 * golden cases, scripts, flash images). Everything a user hands kpusim is untrusted, so:
 *
 * - only regular files are read: a directory, FIFO, socket or device (`/dev/zero`, a tty) is
 *   refused before a byte is read (it is opened non-blocking, so a FIFO with no writer cannot
 *   make kpusim wait);
 * - every read has a cap chosen by purpose (`FILE_CAPS`), checked against the size the file
 *   system reports and again while reading, so a file that grows while read is refused too;
 * - no buffer is sized by an untrusted number: the first buffer is at most the cap, and the
 *   file is read in chunks.
 *
 * Failures are `UsageError`s (exit 2) naming the file and what was expected:
 * `NOT_FOUND`, `NOT_A_FILE`, `TOO_LARGE`, or `BAD_FILE` (permission, I/O error).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { FLASH_BYTES, MiB } from '../chip.js';
import { UsageError } from '../errors.js';

/** How much may be read for one purpose, and how to name that purpose in a message. */
export interface ReadCap {
  /** Largest accepted size in bytes. */
  readonly maxBytes: number;
  /** What the file is for, as a noun phrase ("a kmodel", "an image"). */
  readonly what: string;
  /** Why the cap is what it is (shown in the error), e.g. "the K210's flash holds 16 MiB". */
  readonly why?: string;
}

/** The K210's SPI flash: no model or flash package can hold more. */
const K210_FLASH_BYTES = FLASH_BYTES;

/** Caps by purpose. A tensor's cap is the model input's size (see `tensorCap`). */
export const FILE_CAPS = {
  kmodel: { maxBytes: K210_FLASH_BYTES, what: 'a kmodel', why: "a K210's flash holds 16 MiB" },
  /** A zip of at most 16 MiB of content; stored entries add their headers. */
  kfpkg: { maxBytes: K210_FLASH_BYTES + MiB, what: 'a .kfpkg flash package', why: "a K210's flash holds 16 MiB" },
  /** A flash image given to `maixpy --flash`. */
  flash: { maxBytes: K210_FLASH_BYTES, what: 'a flash image', why: "a K210's flash holds 16 MiB" },
  /** Encoded image files (PNG, JPEG, BMP): a 5 MP BMP is 15 MB. */
  image: { maxBytes: 32 * MiB, what: 'an image file' },
  /** JSON documents: face stores, presets, case files, configs. */
  json: { maxBytes: 64 * MiB, what: 'a JSON file' },
  /** Text files such as traces. */
  text: { maxBytes: 64 * MiB, what: 'a text file' },
  /** A MicroPython script (the board's own flash file system is far smaller). */
  script: { maxBytes: 4 * MiB, what: 'a script' },
  /** An original float network (`compare --float`): a K210 network's float weights stay far below this. */
  floatModel: { maxBytes: 256 * MiB, what: 'a float model (.onnx or .tflite)' },
} as const satisfies Record<string, ReadCap>;

/** The cap for a raw tensor file: exactly the model input's bytes. */
export function tensorCap(bytes: number): ReadCap {
  return { maxBytes: bytes, what: 'the model input tensor', why: 'a raw tensor holds exactly the input' };
}

function kindOf(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notAFile(file: string, kind: string): UsageError {
  return new UsageError('NOT_A_FILE', `${file}: is ${kind}, not a regular file`);
}

function ioError(file: string, e: unknown): UsageError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new UsageError('NOT_FOUND', `${file}: no such file`);
  if (code === 'EACCES' || code === 'EPERM') return new UsageError('BAD_FILE', `${file}: permission denied`);
  if (code === 'EISDIR') return notAFile(file, 'a directory');
  if (code === 'ENOTDIR') return new UsageError('NOT_FOUND', `${file}: no such file (a parent is not a folder)`);
  if (code === 'ELOOP') return new UsageError('BAD_FILE', `${file}: too many levels of symbolic links`);
  return new UsageError('BAD_FILE', `${file}: cannot read (${code ?? (e as Error).message})`);
}

function tooLarge(file: string, cap: ReadCap, seen: string): UsageError {
  const mib = cap.maxBytes >= MiB ? ` (${+(cap.maxBytes / MiB).toFixed(2)} MiB)` : '';
  return new UsageError(
    'TOO_LARGE',
    `${file}: ${seen}, more than the ${cap.maxBytes} bytes${mib} accepted for ${cap.what}${cap.why ? ` (${cap.why})` : ''}`,
  );
}

/**
 * Stats a user path (following links) and refuses anything but a regular file. Returns its size.
 * For callers that only need to know a path is a readable file (not its contents).
 */
export function checkRegularFile(file: string): number {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    throw ioError(file, e);
  }
  const kind = kindOf(st);
  if (kind !== null) throw notAFile(file, kind);
  return st.size;
}

/** O_NONBLOCK keeps open() of a FIFO without a writer from waiting; absent on Windows (0). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = MiB;

/** Reads a regular file of at most `cap.maxBytes` bytes. */
export function readUserFile(file: string, cap: ReadCap): Uint8Array {
  // Refuse by path first (so no device is even opened), then again on the open descriptor,
  // which is what is read (the path may have been swapped in between).
  checkRegularFile(file);
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (e) {
    throw ioError(file, e);
  }
  try {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw ioError(file, e);
    }
    const kind = kindOf(st);
    if (kind !== null) throw notAFile(file, kind);
    if (st.size > cap.maxBytes) throw tooLarge(file, cap, `${st.size} bytes`);
    // One buffer of the reported size (already capped) plus one byte to notice growth.
    const chunks: Uint8Array[] = [];
    let total = 0;
    let buf = new Uint8Array(Math.min(st.size, cap.maxBytes) + 1);
    let filled = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, filled, buf.length - filled, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue;
        throw ioError(file, e);
      }
      if (n === 0) break;
      filled += n;
      if (total + filled > cap.maxBytes) throw tooLarge(file, cap, 'it grew while being read');
      if (filled === buf.length) {
        chunks.push(buf);
        total += filled;
        buf = new Uint8Array(Math.min(CHUNK, cap.maxBytes - total + 1));
        filled = 0;
      }
    }
    if (chunks.length === 0) return buf.subarray(0, filled);
    chunks.push(buf.subarray(0, filled));
    const out = new Uint8Array(total + filled);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Reads a regular text file (UTF-8) of at most `cap.maxBytes` bytes. */
export function readUserText(file: string, cap: ReadCap): string {
  return new TextDecoder().decode(readUserFile(file, cap));
}
