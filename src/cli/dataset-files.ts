/**
 * The images of a `--dataset` folder (compare, compare --float, eval); with `tensors`, raw input
 * tensors (.bin, the input's exact bytes) too, for models whose input is not a picture.
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { isImageFile } from '../input.js';

export function listImages(dir: string, opts: { readonly tensors?: boolean } = {}): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError('NOT_FOUND', `${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new UsageError('BAD_ARGUMENT', `--dataset ${dir}: not a folder`);
  const files = readdirSync(dir)
    .filter((f) => isImageFile(f) || (opts.tensors === true && extname(f).toLowerCase() === '.bin'))
    .sort()
    .map((f) => join(dir, f));
  if (!files.length)
    throw new UsageError(
      'BAD_INPUT',
      `--dataset ${dir}: no .png, .jpg or .bmp images${opts.tensors ? ' or .bin tensors' : ''} in it`,
    );
  return files;
}
