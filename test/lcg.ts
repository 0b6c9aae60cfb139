/**
 * The tests' one seeded pseudo-random generator: a 32-bit linear congruential generator
 * (multiplier 1103515245, increment 12345, modulus 2^32). Deterministic and fast; not for anything
 * but test data.
 */
export class Lcg {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next 32-bit state. */
  u32(): number {
    this.state = (Math.imul(this.state, 1103515245) + 12345) >>> 0;
    return this.state;
  }

  /** The top byte of the next state (the low bits of an LCG are the weak ones). */
  byte(): number {
    return this.u32() >>> 24;
  }

  /** A number in [0, 1). */
  unit(): number {
    return this.u32() / 2 ** 32;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.unit() * n);
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** n bytes, each the top byte of a state. */
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.byte());
  }
}
