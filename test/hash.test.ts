import fc from 'fast-check';
import { test, expect } from 'vitest';
import { fnv1a64, fnv1a64Plain } from '../src/kpu/hash.js';
import { fnv1a64Wasm } from '../src/kpu/wasm/hash.js';
import { Lcg } from './lcg.js';

test('fnv check values from the golden README', () => {
  for (const f of [fnv1a64, fnv1a64Plain]) {
    expect(f(new Uint8Array(0))).toBe('14650fb0739d0383');
    expect(f(new TextEncoder().encode('a'))).toBe('44bd8ad473cd9906');
    expect(f(new Uint8Array([0, 1, 2, 3]))).toBe('28b196a081bff727');
    expect(f(new Uint8Array(2 * 1024 * 1024))).toBe('16369f44951d0383');
  }
});

/** Memory-like bytes: runs of zeros (whole 64-byte blocks, single words, odd lengths) between random bytes. */
const memoryLike = fc
  .array(
    fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.integer({ min: 1, max: 3000 }).map((n) => new Uint8Array(n)),
      fc.constantFrom(new Uint8Array(64), new Uint8Array(8), new Uint8Array(7), new Uint8Array(65)),
    ),
    { maxLength: 40 },
  )
  .map((parts) => {
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  });

test('the WebAssembly hash equals the plain one on any range (fast-check, fixed seed)', () => {
  expect(fnv1a64Wasm(new Uint8Array(1), 0, 1, 0n)).not.toBeNull();
  fc.assert(
    fc.property(memoryLike, fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length ? a % (bytes.length + 1) : 0;
      const end = start + (bytes.length - start ? b % (bytes.length - start + 1) : 0);
      const plain = fnv1a64Plain(bytes, start, end);
      // Through fnv1a64 (WebAssembly from 4 KiB up) and through the WebAssembly version at every length.
      expect(fnv1a64(bytes, start, end)).toBe(plain);
      expect(fnv1a64Wasm(bytes, start, end, 0x14650fb0739d0383n)!.toString(16).padStart(16, '0')).toBe(plain);
    }),
    { seed: 18, numRuns: 300 },
  );
});

test('ranges longer than the WebAssembly chunk (1 MiB) chain their states', () => {
  const bytes = new Uint8Array(3 * 1024 * 1024 + 77);
  const lcg = new Lcg(7);
  for (let i = 0; i < bytes.length; i += 13) bytes[i] = lcg.byte();
  expect(fnv1a64(bytes, 5)).toBe(fnv1a64Plain(bytes, 5));
});
