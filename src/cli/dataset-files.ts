/** The images of a `--dataset` folder (compare, compare --float, eval). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { isImageFile } from '../input.js';

export function listImages(dir: string): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError('NOT_FOUND', `${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new UsageError('BAD_ARGUMENT', `--dataset ${dir}: not a folder`);
  const files = readdirSync(dir)
    .filter((f) => isImageFile(f))
    .sort()
    .map((f) => join(dir, f));
  if (!files.length) throw new UsageError('BAD_INPUT', `--dataset ${dir}: no .png, .jpg or .bmp images in it`);
  return files;
}
