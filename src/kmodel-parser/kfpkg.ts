/**
 * `.kfpkg`: the zip that kflash and MaixPy tools flash. Its `flash-list.json` names each file
 * with its flash address. Reading is bounded: sizes come from the zip directory and are checked
 * against limits before anything is inflated.
 */
import { unzipSync, type Unzipped } from 'fflate';
import { KmodelError } from '../errors.js';

export interface KfpkgEntry {
  readonly name: string;
  readonly address: number | null;
  readonly bytes: number;
  readonly sha256Prefix: boolean;
  /** What the first bytes say the file is ('kmodel v3', 'firmware', …). */
  readonly kind: string;
}

export interface Kfpkg {
  readonly entries: readonly KfpkgEntry[];
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** No file of a K210 flash package can exceed the 16 MiB flash. */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;

export function readKfpkg(zip: Uint8Array, file = '<kfpkg>'): Kfpkg {
  let unzipped: Unzipped;
  try {
    unzipped = unzipSync(zip, {
      filter: (f) => {
        if (f.originalSize > MAX_ENTRY_BYTES)
          throw new KmodelError(
            'BAD_CONTAINER',
            0,
            `${f.name} claims ${f.originalSize} bytes, more than a K210's 16 MiB flash`,
            file,
          );
        return true;
      },
    });
  } catch (e) {
    if (e instanceof KmodelError) throw e;
    throw new KmodelError('BAD_CONTAINER', 0, `not a readable zip archive: ${(e as Error).message}`, file);
  }
  const files = new Map(Object.entries(unzipped));
  const addresses = new Map<string, { address: number; sha256Prefix: boolean }>();
  const list = files.get('flash-list.json');
  if (list) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(list));
    } catch (e) {
      throw new KmodelError('BAD_CONTAINER', 0, `flash-list.json is not valid JSON: ${(e as Error).message}`, file);
    }
    const entries = (json as { files?: unknown }).files;
    if (!Array.isArray(entries))
      throw new KmodelError('BAD_CONTAINER', 0, 'flash-list.json has no "files" array', file);
    for (const e of entries as { address?: unknown; bin?: unknown; sha256Prefix?: unknown }[]) {
      if (typeof e?.bin !== 'string' || typeof e.address !== 'number') continue;
      addresses.set(e.bin, { address: e.address, sha256Prefix: e.sha256Prefix === true });
    }
  }
  const entries: KfpkgEntry[] = [];
  for (const [name, bytes] of files) {
    if (name === 'flash-list.json' || name.endsWith('/')) continue;
    const a = addresses.get(name);
    entries.push({
      name,
      address: a?.address ?? null,
      bytes: bytes.length,
      sha256Prefix: a?.sha256Prefix ?? false,
      kind: sniff(bytes, name),
    });
  }
  entries.sort((x, y) => (x.address ?? Infinity) - (y.address ?? Infinity) || x.name.localeCompare(y.name));
  return { entries, files };
}

function sniff(b: Uint8Array, name: string): string {
  if (b.length >= 8 && b[0] === 0x4c && b[1] === 0x44 && b[2] === 0x4d && b[3] === 0x4b) return `kmodel v${b[4]}`;
  if (b.length >= 4 && b[0] === 3 && b[1] === 0 && b[2] === 0 && b[3] === 0) return 'kmodel v3';
  if (/\.smodel$/i.test(name)) return 'encrypted model';
  if (/\.bin$/i.test(name)) return 'binary (firmware or data)';
  return 'data';
}
