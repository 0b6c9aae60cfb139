/**
 * `.kfpkg`: the zip that kflash and MaixPy tools flash. Its `flash-list.json` names each file
 * with its flash address.
 *
 * A package is untrusted, so reading it is bounded (a small zip must not cost a large machine):
 * - the zip's central directory is read first, and every declared size is checked before
 *   anything is inflated: each entry and all entries together at most what a K210's 16 MiB
 *   flash can hold; only "stored" and "deflate" entries, no encryption, no zip64;
 * - listing a package inflates only `flash-list.json` and the first bytes of each entry (to say
 *   what it is); a file's contents are inflated only when asked for (`read`);
 * - inflating streams small chunks and stops as soon as the output passes the declared size; an
 *   entry whose data is longer or shorter than declared, or whose CRC-32 differs, is refused.
 * Every failure is a `KmodelError('BAD_CONTAINER')` naming the package, the entry and the byte
 * offset in the package.
 */
import { Inflate } from 'fflate';
import { KmodelError } from '../errors.js';

export interface KfpkgEntry {
  readonly name: string;
  readonly address: number | null;
  /** The entry's (declared, and on `read` verified) uncompressed size. */
  readonly bytes: number;
  readonly sha256Prefix: boolean;
  /** What the first bytes say the file is ('kmodel v3', 'firmware', …). */
  readonly kind: string;
}

export interface Kfpkg {
  readonly entries: readonly KfpkgEntry[];
  /** The names of every file in the package, `flash-list.json` included, in directory order. */
  readonly names: readonly string[];
  /**
   * Inflates one file (bounded; its size and CRC-32 checked against the directory), or
   * undefined when the package has no file of that name.
   */
  read(name: string): Uint8Array | undefined;
}

/** A K210's SPI flash: no file of a flash package, nor all of them together, can exceed it. */
export const KFPKG_MAX_TOTAL_BYTES = 16 * 1024 * 1024;
/** flash-list.json is a few hundred bytes in practice. */
const MAX_FLASH_LIST_BYTES = 1024 * 1024;
/** Compressed bytes pushed per inflate step: deflate expands at most ~1032×, so ≤ 4.2 MB out per step. */
const INFLATE_CHUNK = 4096;

const SIG_EOCD = 0x06054b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

interface DirEntry {
  readonly name: string;
  /** Offset of this entry's central-directory record. */
  readonly dirOffset: number;
  readonly method: number;
  readonly crc: number;
  readonly compressed: number;
  readonly size: number;
  readonly dataOffset: number;
}

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (the zip polynomial, 0xEDB88320 reflected). */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const MiB = (n: number) => `${+(n / 1048576).toFixed(2)} MiB`;

/** Reads the zip's central directory; checks every declared size against the flash before any inflating. */
function readDirectory(zip: Uint8Array, file: string): DirEntry[] {
  const fail = (offset: number, detail: string): never => {
    throw new KmodelError('BAD_CONTAINER', offset, detail, file);
  };
  // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the end.
  let eocd = -1;
  for (let p = zip.length - 22; p >= Math.max(0, zip.length - 22 - 0xffff); p--) {
    if (u32(zip, p) === SIG_EOCD && p + 22 + u16(zip, p + 20) === zip.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0)
    return fail(
      Math.max(0, zip.length - 22),
      'not a readable zip archive: no end-of-central-directory record (truncated, or not a zip)',
    );
  if (u16(zip, eocd + 4) !== 0 || u16(zip, eocd + 6) !== 0)
    fail(eocd, 'a multi-disk (split) zip archive is not a flash package');
  const count = u16(zip, eocd + 10);
  const dirSize = u32(zip, eocd + 12);
  const dirStart = u32(zip, eocd + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirStart === 0xffffffff)
    fail(eocd, 'a zip64 archive: a flash package of at most 16 MiB never needs zip64');
  if (dirStart + dirSize > eocd)
    fail(
      eocd + 12,
      `the central directory (${dirSize} bytes at offset ${dirStart}) runs past its end record at ${eocd}`,
    );
  const entries: DirEntry[] = [];
  const seen = new Set<string>();
  let total = 0;
  let p = dirStart;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dirStart + dirSize || u32(zip, p) !== SIG_CENTRAL)
      fail(p, `expected central-directory record ${i + 1} of ${count} (signature 50 4b 01 02)`);
    const flags = u16(zip, p + 8);
    const method = u16(zip, p + 10);
    const crc = u32(zip, p + 16);
    const compressed = u32(zip, p + 20);
    const size = u32(zip, p + 24);
    const nameLen = u16(zip, p + 28);
    const extraLen = u16(zip, p + 30);
    const commentLen = u16(zip, p + 32);
    const local = u32(zip, p + 42);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > dirStart + dirSize) fail(p, `central-directory record ${i + 1} runs past the directory's end`);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
    const what = `entry ${JSON.stringify(name)}`;
    if (seen.has(name)) fail(p, `${what} appears twice`);
    seen.add(name);
    if (flags & 1) fail(p, `${what} is encrypted`);
    if (method !== 0 && method !== 8)
      fail(p + 10, `${what} uses compression method ${method}; expected 0 (stored) or 8 (deflate)`);
    if (compressed === 0xffffffff || size === 0xffffffff || local === 0xffffffff)
      fail(p + 20, `${what} has zip64 sizes: a flash package of at most 16 MiB never needs them`);
    if (size > KFPKG_MAX_TOTAL_BYTES)
      fail(p + 24, `${what} declares ${size} bytes (${MiB(size)}), more than a K210's 16 MiB flash can hold`);
    total += size;
    if (total > KFPKG_MAX_TOTAL_BYTES)
      fail(
        p + 24,
        `the files declare ${total} bytes (${MiB(total)}) up to ${what}, more than a K210's 16 MiB flash can hold`,
      );
    if (method === 0 && compressed !== size)
      fail(p + 20, `${what} is stored (not compressed) but declares ${compressed} stored and ${size} file bytes`);
    if (local + 30 > zip.length || u32(zip, local) !== SIG_LOCAL)
      fail(p + 42, `${what}: no local header at offset ${local} (expected signature 50 4b 03 04)`);
    const dataOffset = local + 30 + u16(zip, local + 26) + u16(zip, local + 28);
    if (dataOffset + compressed > zip.length)
      fail(local, `${what}: ${compressed} compressed bytes at offset ${dataOffset} run past the end of the file`);
    entries.push({ name, dirOffset: p, method, crc, compressed, size, dataOffset });
    p = next;
  }
  return entries;
}

/** Thrown inside the inflate callback to stop early (not an error). */
class Enough extends Error {}

/**
 * Inflates an entry, stopping after `limit` bytes when `prefixOnly`; otherwise refusing an
 * output longer or shorter than declared and a CRC mismatch.
 */
function inflateEntry(zip: Uint8Array, e: DirEntry, file: string, prefix?: number): Uint8Array {
  const what = `entry ${JSON.stringify(e.name)}`;
  const data = zip.subarray(e.dataOffset, e.dataOffset + e.compressed);
  if (e.method === 0) {
    const out = prefix === undefined ? data : data.subarray(0, prefix);
    if (prefix === undefined && crc32(out) !== e.crc)
      throw new KmodelError('BAD_CONTAINER', e.dataOffset, `${what}: CRC-32 mismatch (the data is damaged)`, file);
    return out;
  }
  const want = prefix === undefined ? e.size : Math.min(prefix, e.size);
  const out = new Uint8Array(want);
  let got = 0;
  let at = 0;
  const inflater = new Inflate((chunk) => {
    if (got + chunk.length > e.size)
      throw new KmodelError(
        'BAD_CONTAINER',
        e.dataOffset + at,
        `${what} inflates to more than the ${e.size} bytes its directory record declares (at offset ${e.dirOffset})`,
        file,
      );
    const take = Math.min(chunk.length, want - got);
    out.set(chunk.subarray(0, take), got);
    got += chunk.length;
    if (prefix !== undefined && got >= want) throw new Enough();
  });
  try {
    if (data.length === 0) inflater.push(data, true);
    for (; at < data.length; at += INFLATE_CHUNK) {
      const end = Math.min(at + INFLATE_CHUNK, data.length);
      inflater.push(data.subarray(at, end), end === data.length);
    }
  } catch (err) {
    if (err instanceof Enough) return out;
    if (err instanceof KmodelError) throw err;
    throw new KmodelError(
      'BAD_CONTAINER',
      e.dataOffset + at,
      `${what}: its deflate data is damaged (${(err as Error).message})`,
      file,
    );
  }
  if (prefix !== undefined) return out.subarray(0, Math.min(got, want));
  if (got !== e.size)
    throw new KmodelError(
      'BAD_CONTAINER',
      e.dataOffset + e.compressed,
      `${what} inflates to ${got} bytes, but its directory record (at offset ${e.dirOffset}) declares ${e.size}`,
      file,
    );
  if (crc32(out) !== e.crc)
    throw new KmodelError('BAD_CONTAINER', e.dataOffset, `${what}: CRC-32 mismatch (the data is damaged)`, file);
  return out;
}

export function readKfpkg(zip: Uint8Array, file = '<kfpkg>'): Kfpkg {
  const dir = readDirectory(zip, file);
  const byName = new Map(dir.map((e) => [e.name, e]));
  let entries: KfpkgEntry[] | undefined;
  return {
    names: dir.map((d) => d.name),
    // Listing inflates flash-list.json and a few bytes of each file, and only when asked for.
    get entries(): readonly KfpkgEntry[] {
      return (entries ??= listEntries(zip, dir, byName.get('flash-list.json'), file));
    },
    read(name: string): Uint8Array | undefined {
      const d = byName.get(name);
      return d && inflateEntry(zip, d, file);
    },
  };
}

function listEntries(zip: Uint8Array, dir: readonly DirEntry[], listEntry: DirEntry | undefined, file: string) {
  const addresses = new Map<string, { address: number; sha256Prefix: boolean }>();
  if (listEntry) {
    if (listEntry.size > MAX_FLASH_LIST_BYTES)
      throw new KmodelError(
        'BAD_CONTAINER',
        listEntry.dirOffset + 24,
        `flash-list.json declares ${listEntry.size} bytes; a flash list is a few hundred (at most ${MAX_FLASH_LIST_BYTES})`,
        file,
      );
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(inflateEntry(zip, listEntry, file)));
    } catch (e) {
      if (e instanceof KmodelError) throw e;
      throw new KmodelError(
        'BAD_CONTAINER',
        listEntry.dataOffset,
        `flash-list.json is not valid JSON: ${(e as Error).message}`,
        file,
      );
    }
    const list = (json as { files?: unknown } | null)?.files;
    if (!Array.isArray(list))
      throw new KmodelError('BAD_CONTAINER', listEntry.dataOffset, 'flash-list.json has no "files" array', file);
    for (const e of list as { address?: unknown; bin?: unknown; sha256Prefix?: unknown }[]) {
      if (typeof e?.bin !== 'string' || typeof e.address !== 'number') continue;
      addresses.set(e.bin, { address: e.address, sha256Prefix: e.sha256Prefix === true });
    }
  }
  const entries: KfpkgEntry[] = [];
  for (const d of dir) {
    if (d.name === 'flash-list.json' || d.name.endsWith('/')) continue;
    const a = addresses.get(d.name);
    entries.push({
      name: d.name,
      address: a?.address ?? null,
      bytes: d.size,
      sha256Prefix: a?.sha256Prefix ?? false,
      kind: sniff(inflateEntry(zip, d, file, 8), d.name),
    });
  }
  entries.sort((x, y) => (x.address ?? Infinity) - (y.address ?? Infinity) || x.name.localeCompare(y.name));
  return entries;
}

function sniff(b: Uint8Array, name: string): string {
  if (b.length >= 8 && b[0] === 0x4c && b[1] === 0x44 && b[2] === 0x4d && b[3] === 0x4b) return `kmodel v${b[4]}`;
  if (b.length >= 4 && b[0] === 3 && b[1] === 0 && b[2] === 0 && b[3] === 0) return 'kmodel v3';
  if (/\.smodel$/i.test(name)) return 'encrypted model';
  if (/\.bin$/i.test(name)) return 'binary (firmware or data)';
  return 'data';
}
