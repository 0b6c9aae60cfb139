/**
 * FNV-1a 64 with the non-standard offset basis 0x14650FB0739D0383 that the golden traces use
 * (the standard basis with its last decimal digit dropped; golden-nncase README). Computed on
 * two 32-bit halves: the prime 2^40 + 0x1B3 lets the multiply be done exactly without bigint.
 */
import { fnv1a64Wasm } from './wasm/hash.js';

export const FNV_BASIS_HI = 0x14650fb0;
export const FNV_BASIS_LO = 0x739d0383;
const FNV_BASIS = (BigInt(FNV_BASIS_HI) << 32n) | BigInt(FNV_BASIS_LO);

/** Below this many bytes the JavaScript loop is as fast as copying into WebAssembly. */
const WASM_FROM = 4096;

/** The hash as 16 hex digits: WebAssembly for long ranges (src/kpu/wasm/hash.ts), else `fnv1a64Plain`. */
export function fnv1a64(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (end - start >= WASM_FROM) {
    const h = fnv1a64Wasm(bytes, start, end, FNV_BASIS);
    if (h !== null) return h.toString(16).padStart(16, '0');
  }
  return fnv1a64Plain(bytes, start, end);
}

/** The plain definition, one byte at a time (the specification the WebAssembly version is tested against). */
export function fnv1a64Plain(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let hi = FNV_BASIS_HI;
  let lo = FNV_BASIS_LO;
  for (let i = start; i < end; i++) {
    lo = (lo ^ bytes[i]) >>> 0;
    // h * (2^40 + 0x1B3) mod 2^64: the 0x1B3 part on both halves, plus lo << 40 into hi.
    const loMul = lo * 0x1b3; // < 2^41, exact
    const newLo = loMul >>> 0;
    const carry = Math.floor(loMul / 4294967296);
    hi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
