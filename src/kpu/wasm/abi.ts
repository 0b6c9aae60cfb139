/**
 * The descriptor ABI between the conv kernel module (./kernels/) and the JavaScript that drives it
 * (src/kpu/conv/wasm.ts lays a layer out and fills the descriptors; src/kpu/parallel runs parts of it
 * on two threads): the kernel memory starts with one descriptor per thread, then the threads'
 * control block, then the layer's data, whose regions the descriptor's slots point at.
 */

/** i32 slots of the layer descriptor at address 0 (f64 fields take two slots, 8-aligned). */
export const DESC = {
  flags: 0,
  IC: 1,
  OC: 2,
  H: 3,
  W: 4,
  HW: 5,
  HWp: 6,
  P: 7,
  CH: 9,
  OH: 10,
  OW: 11,
  /** The pool stage's pool type (0 when the select pool was done by computing only the selected pixels). */
  pool: 12,
  inBase: 13,
  inGroups: 14,
  inPitch: 15,
  inLine: 16,
  planes: 17,
  planeStride: 18,
  xp: 19,
  wt: 20,
  s: 21,
  t32: 22,
  tf: 23,
  act: 24,
  actStride: 25,
  chan: 26,
  seg: 27,
  outBase: 28,
  outGroups: 29,
  outPitch: 30,
  outLine: 31,
  dense: 32,
  padValue: 33,
  shrX: 34,
  rules: 35,
  sxRow: 36,
  sStride: 37,
  /** Pixels computed: rows sH, columns sW, sampled at stride sK from input column sDx (select pools). */
  sK: 38,
  sDx: 39,
  sH: 44,
  sW: 45,
  /** Pooled accumulators of one chunk (i32), and zeros standing in for Tx (f64 and i32) there. */
  accp: 46,
  zeros: 47,
  /** f64: arg_x·2^−shr_x */
  argXf: 40,
  /** Out: groups of 4 pixels that left the SIMD window and went through actScalar in this run. */
  fallbacks: 48,
} as const;
export const DESC_BYTES = 256;
/** Threads that may run one layer, each with its descriptor at t·DESC_BYTES (thread 0: the caller's). */
export const THREADS = 2;
/** The two threads' control block (src/kpu/parallel), after the descriptors. */
export const CTL = THREADS * DESC_BYTES;
/** The layer's data starts here. */
export const HEADER_BYTES = CTL + 128;

export const FLAG = { K3: 1, DW: 2, WIDE: 4, SX: 8, DENSE: 16 } as const;
export const RULE = { STRICT: 1, BANKER: 2, SORTED: 4, SIMD: 8 } as const;

/** Per output channel, CHAN_BYTES at chan + o·CHAN_BYTES. */
export const CHAN = {
  C: 0, // i64: (arg_w·SW >> shr_w) + arg_add·G
  mul: 8, // i64 norm_mul
  shift: 16, // i64 norm_shift
  add: 24, // i64 norm_add
  mode: 32, // i32: 0 scalar int64, 1 SIMD over the whole bn range, 2 SIMD with a window check, 3 actExact (f64)
  C32: 36, // i32: C mod 2^32 (SIMD channels have |acc| < 2^31, so S + Tx + C wraps back exactly)
  m: 40, // f64 norm_mul·2^−norm_shift
  addx: 48, // f64 norm_add − x0 (bn − x0 of the SIMD segment)
  lo: 56, // f64 window: bn − x0 ≤ lo falls back
  hi: 64, // f64 window: bn − x0 > hi falls back
  ymsc: 72, // f64 y_mul·2^−shift of the SIMD segment
  bias: 80, // i32
  prepool: 84, // i32: 1 / 2 max-pool 2×2 the accumulators (max / min) before the activation (see wasm.ts)
  split: 88, // f64: bn − x0 > split takes the second segment's formula (two-piece windows)
  ymscB: 96, // f64 the second segment's y_mul·2^−shift
  biasB: 104, // i32
  two: 108, // i32: 1 for a two-piece window
  dxB: 112, // f64: x0' − x0, the second segment's start relative to the first's
  sat: 120, // f64: bn − x0 > sat outputs satVal (the table's constant top; +Infinity when there is none)
  head: 128, // f64: bn − x0 ≤ head outputs headVal (the constant bottom; −Infinity when there is none)
  satVal: 136, // i32
  headVal: 140, // i32
  Cf: 144, // f64 C (exact channels: |C| < 2^53)
  addf: 152, // f64 norm_add (exact channels)
} as const;
export const CHAN_BYTES = 160;
/** Activation segments: x_start, y_mul, bias, shift as i64, 32 bytes each. */
export const SEG_BYTES = 32;
/**
 * After the 16 segments, the same table as f64 for actExact: x_start at SEG_F64, y_mul·2^−shift at
 * SEG_F64 + 128, bias at SEG_F64 + 256 (8 bytes per segment each).
 */
export const SEG_F64 = 16 * SEG_BYTES;
export const SEG_TABLE_BYTES = SEG_F64 + 3 * 128;
