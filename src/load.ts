/**
 * Loading a model from the file system: a plain `.kmodel`, or `package.kfpkg#name.kmodel`
 * naming a model inside a flash package.
 */
import { readFileSync, statSync } from 'node:fs';
import { UsageError, KmodelError } from './errors.js';
import { readKfpkg } from './kmodel-parser/kfpkg.js';
import type { Kmodel } from './kmodel-parser/model.js';
import { parseKmodel, type ParseOptions } from './kmodel-parser/parse.js';

/** Refuse before reading: no K210 model can exceed the 16 MiB flash (plus appended padding). */
const MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024;

export interface LoadedModel {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly model: Kmodel;
}

/** Splits `file.kfpkg#inner.kmodel` into its parts. */
export function splitModelPath(spec: string): { file: string; inner?: string } {
  const i = spec.lastIndexOf('#');
  if (i > 0 && /\.kfpkg$/i.test(spec.slice(0, i))) return { file: spec.slice(0, i), inner: spec.slice(i + 1) };
  return { file: spec };
}

export function readFileChecked(file: string, limit = MAX_MODEL_FILE_BYTES): Uint8Array {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new UsageError('BAD_FILE', `${file}: is a directory, not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      'NOT_FOUND',
      `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  if (size > limit)
    throw new UsageError('BAD_FILE', `${file}: ${size} bytes is larger than any K210 model (limit ${limit})`);
  return new Uint8Array(readFileSync(file));
}

/** Reads the bytes a model spec names (unwrapping a .kfpkg when `#name` is given). */
export function readModelBytes(spec: string): { path: string; bytes: Uint8Array } {
  const { file, inner } = splitModelPath(spec);
  const bytes = readFileChecked(file);
  if (inner === undefined) return { path: file, bytes };
  const pkg = readKfpkg(bytes, file);
  const found = pkg.files.get(inner);
  if (!found) {
    const names = pkg.entries.map((e) => e.name).join(', ');
    throw new KmodelError(
      'BAD_CONTAINER',
      0,
      `no file named ${inner} in the package (it holds: ${names || 'nothing'})`,
      file,
    );
  }
  return { path: spec, bytes: found };
}

export function loadKmodel(spec: string, opts: ParseOptions = {}): LoadedModel {
  const { path, bytes } = readModelBytes(spec);
  return { path, bytes, model: parseKmodel(bytes, path, opts) };
}
