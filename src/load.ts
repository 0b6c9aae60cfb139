/**
 * Loading a model from the file system: a plain `.kmodel`, or `package.kfpkg#name.kmodel`
 * naming a model inside a flash package.
 */
import { KmodelError } from './errors.js';
import { FILE_CAPS, readUserFile, type ReadCap } from './io/read-file.js';
import { readKfpkg } from './kmodel-parser/kfpkg.js';
import type { Kmodel } from './kmodel-parser/model.js';
import { parseKmodel, type ParseOptions } from './kmodel-parser/parse.js';

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

/**
 * Reads a user file that must be a regular file within `cap` (default: a kmodel, at most the
 * K210's 16 MiB flash). See src/io/read-file.ts.
 */
export function readFileChecked(file: string, cap: ReadCap = FILE_CAPS.kmodel): Uint8Array {
  return readUserFile(file, cap);
}

/** Reads the bytes a model spec names (unwrapping a .kfpkg when `#name` is given). */
export function readModelBytes(spec: string): { path: string; bytes: Uint8Array } {
  const { file, inner } = splitModelPath(spec);
  if (inner === undefined) return { path: file, bytes: readFileChecked(file) };
  const bytes = readFileChecked(file, FILE_CAPS.kfpkg);
  const pkg = readKfpkg(bytes, file);
  const found = pkg.read(inner);
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
