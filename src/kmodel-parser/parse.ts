import { KmodelError } from '../errors.js';
import { BinaryReader } from './binary-reader.js';
import { detectFormat } from './detect.js';
import type { Kmodel } from './model.js';
import { parseV3 } from './v3/parse.js';
import { parseV4 } from './v4/parse.js';
import { parseV5 } from './v5/parse.js';

/**
 * Parses kmodel bytes (v3, v4 or v5) into a typed, immutable model. Every failure is a
 * KmodelError naming the file (when given), the byte offset and what was expected.
 */
export interface ParseOptions {
  /** v5: force a stackvm numbering (an nncase version or commit, as `--nncase-version`). */
  readonly nncaseVersion?: string;
}

export function parseKmodel(bytes: Uint8Array, file?: string, opts: ParseOptions = {}): Kmodel {
  try {
    const d = detectFormat(bytes, file ?? '');
    switch (d.kind) {
      case 'kmodel': {
        const r = new BinaryReader(bytes);
        if (d.version === 3) return parseV3(r);
        if (d.version === 4) return parseV4(r);
        return parseV5(r, opts.nncaseVersion === undefined ? {} : { stackvmNumbering: opts.nncaseVersion });
      }
      case 'old-kmodel':
        throw new KmodelError(
          'UNSUPPORTED_VERSION',
          0,
          `kmodel version ${d.version} (Kendryte's pre-nncase model compiler) is not supported: recompile the model with nncase (kmodel v3, v4 or v5)`,
        );
      case 'future-kmodel':
        throw new KmodelError(
          'UNSUPPORTED_VERSION',
          4,
          `kmodel version ${d.version} (nncase 2.x or later, K230 era) has no K210 module; kpusim runs v3, v4 and v5`,
        );
      case 'big-endian':
        throw new KmodelError(
          'BIG_ENDIAN',
          0,
          `this is a byte-swapped (big-endian) copy of a kmodel v${d.version}, as some flash packages carry; swap each 32-bit word back to little-endian first`,
        );
      case 'encrypted':
        throw new KmodelError(
          'ENCRYPTED',
          0,
          'this looks like an encrypted model (a MaixHub .smodel): it can only be decrypted on the board it was made for',
        );
      case 'zip':
        throw new KmodelError(
          'BAD_CONTAINER',
          0,
          'this is a zip archive (a .kfpkg?): name the model inside it as file.kfpkg#name.kmodel',
        );
      case 'other-format':
        throw new KmodelError('BAD_MAGIC', 0, `this is ${d.what}, not a kmodel${d.hint ? ` (${d.hint})` : ''}`);
      case 'unknown':
        throw new KmodelError('BAD_MAGIC', 0, `not a kmodel: ${d.reason}`);
    }
  } catch (e) {
    if (e instanceof KmodelError && file !== undefined && e.file === undefined) throw e.withFile(file);
    throw e;
  }
}
