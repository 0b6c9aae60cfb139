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
  /** A common file format that is not a model kpusim runs; `what` names it ("a PNG image"), `hint` what to do. */
  | { kind: 'other-format'; what: string; hint?: string }
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

const IMAGE_HINT = 'images are model inputs: kpusim run MODEL --input IMAGE';
const COMPILE_HINT = 'compile it to a kmodel for the K210 with nncase first';

/** Signatures of common formats a user may hand kpusim by mistake (checked after the kmodel ones). */
const SIGNATURES: { sig: readonly number[] | string; at?: number; what: string; hint?: string }[] = [
  { sig: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], what: 'a PNG image', hint: IMAGE_HINT },
  { sig: [0xff, 0xd8, 0xff], what: 'a JPEG image', hint: IMAGE_HINT },
  { sig: 'GIF8', what: 'a GIF image' },
  { sig: 'BM', what: 'a BMP image', hint: IMAGE_HINT },
  { sig: [0x1f, 0x8b], what: 'a gzip-compressed file', hint: 'decompress it first if it holds a kmodel' },
  { sig: 'BZh', what: 'a bzip2-compressed file', hint: 'decompress it first if it holds a kmodel' },
  { sig: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'an xz-compressed file', hint: 'decompress it first' },
  { sig: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7-Zip archive' },
  { sig: 'ustar', at: 257, what: 'a tar archive' },
  { sig: [0x7f, 0x45, 0x4c, 0x46], what: 'an ELF executable or library' },
  { sig: [0x00, 0x61, 0x73, 0x6d], what: 'a WebAssembly module' },
  { sig: '%PDF', what: 'a PDF document' },
  { sig: 'TFL3', at: 4, what: 'a TensorFlow Lite model', hint: COMPILE_HINT },
  { sig: [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], what: 'a NumPy array file (.npy)', hint: 'give a raw tensor .bin' },
  { sig: [0x89, 0x48, 0x44, 0x46], what: 'an HDF5 file (a Keras model?)', hint: COMPILE_HINT },
];

function matches(b: Uint8Array, sig: readonly number[] | string, at = 0): boolean {
  const bytes = typeof sig === 'string' ? Array.from(sig, (c) => c.charCodeAt(0)) : sig;
  return startsWith(b, bytes, at);
}

/**
 * ONNX is a protobuf ModelProto: field 1 (ir_version, a small varint: tag 0x08) first, then
 * field 2 (producer_name, a string: tag 0x12) or another known field. A heuristic, named as one.
 */
function looksLikeOnnx(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x08 && b[1] > 0 && b[1] < 0x20 && [0x12, 0x1a, 0x22, 0x3a].includes(b[2]);
}

/** Text: the first bytes decode as UTF-8 with no control characters but tab, CR and LF. */
function textKind(b: Uint8Array): string | null {
  const head = b.subarray(0, 1024);
  if (head.length === 0) return null;
  let text: string;
  try {
    // A cut in the middle of a multi-byte character at the end is not a reason to say "binary".
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.length === b.length ? head : head.subarray(0, 1020));
  } catch {
    return null;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return null;
  }
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) return 'a JSON document';
  return 'a text file';
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
  if (/\.smodel$/i.test(fileName)) return { kind: 'encrypted' };
  for (const s of SIGNATURES)
    if (matches(bytes, s.sig, s.at)) return { kind: 'other-format', what: s.what, hint: s.hint };
  if (looksLikeOnnx(bytes))
    return { kind: 'other-format', what: 'probably an ONNX model (a protobuf ModelProto)', hint: COMPILE_HINT };
  const text = textKind(bytes);
  if (text) return { kind: 'other-format', what: text };
  if (entropy(bytes) > 7.5) return { kind: 'encrypted' };
  return {
    kind: 'unknown',
    reason: `the first bytes ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')} are neither a v3 header (03 00 00 00) nor 'KMDL' (4c 44 4d 4b)`,
  };
}
