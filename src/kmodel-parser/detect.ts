/**
 * Sniffs what a file is from its first bytes, before any parser runs. Recognises the formats
 * kpusim parses (v3, v4, v5) and the ones it refuses with a specific reason (v1/v2 of the
 * pre-nncase model compiler, byte-swapped copies, encrypted MaixHub models, zip packages).
 */

export type Detected =
  | { kind: 'kmodel'; version: 3 | 4 | 5 }
  | { kind: 'old-kmodel'; version: number }
  | { kind: 'future-kmodel'; version: number }
  | { kind: 'big-endian'; version: number }
  | { kind: 'zip' }
  | { kind: 'encrypted' }
  | { kind: 'unknown'; reason: string };

/** 'KMDL' as a little-endian multi-char constant: the bytes `4C 44 4D 4B` ("LDMK"). */
const KMDL_LE = [0x4c, 0x44, 0x4d, 0x4b];
/** The same constant written big-endian (a byte-swapped copy): `4B 4D 44 4C` ("KMDL"). */
const KMDL_BE = [0x4b, 0x4d, 0x44, 0x4c];

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  return sig.every((v, i) => b[at + i] === v);
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
function u32be(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Shannon entropy in bits per byte of the first `n` bytes (encrypted data is near 8). */
function entropy(b: Uint8Array, n = 4096): number {
  const len = Math.min(n, b.length);
  if (len === 0) return 0;
  const counts = new Uint32Array(256);
  for (let i = 0; i < len; i++) counts[b[i]]++;
  let h = 0;
  for (const c of counts) {
    if (c) {
      const p = c / len;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

export function detectFormat(bytes: Uint8Array, fileName = ''): Detected {
  if (bytes.length < 4)
    return { kind: 'unknown', reason: `the file is ${bytes.length} bytes long, too short for any kmodel header` };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]))
    return { kind: 'zip' };
  if (startsWith(bytes, KMDL_LE)) {
    if (bytes.length < 8) return { kind: 'unknown', reason: 'a KMDL header with no version field' };
    const v = u32le(bytes, 4);
    if (v === 4 || v === 5) return { kind: 'kmodel', version: v };
    if (v > 5 && v < 100) return { kind: 'future-kmodel', version: v };
    return { kind: 'unknown', reason: `KMDL header with version ${v}; expected 4 or 5` };
  }
  if (startsWith(bytes, KMDL_BE)) {
    return { kind: 'big-endian', version: bytes.length >= 8 ? u32be(bytes, 4) : 0 };
  }
  const first = u32le(bytes, 0);
  if (first === 3) return { kind: 'kmodel', version: 3 };
  if (first === 1 || first === 2) return { kind: 'old-kmodel', version: first };
  const firstBe = u32be(bytes, 0);
  if (firstBe === 3 || firstBe === 1 || firstBe === 2) return { kind: 'big-endian', version: firstBe };
  if (/\.smodel$/i.test(fileName) || entropy(bytes) > 7.5) return { kind: 'encrypted' };
  return {
    kind: 'unknown',
    reason: `the first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')} are neither a v3 header (03 00 00 00) nor 'KMDL' (4c 44 4d 4b)`,
  };
}
