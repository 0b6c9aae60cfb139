import { test, expect } from 'vitest';
import { fnv1a64 } from '../src/kpu/hash.js';
test('fnv check values from the golden README', () => {
  expect(fnv1a64(new Uint8Array(0))).toBe('14650fb0739d0383');
  expect(fnv1a64(new TextEncoder().encode('a'))).toBe('44bd8ad473cd9906');
  expect(fnv1a64(new Uint8Array([0, 1, 2, 3]))).toBe('28b196a081bff727');
  expect(fnv1a64(new Uint8Array(2 * 1024 * 1024))).toBe('16369f44951d0383');
});
