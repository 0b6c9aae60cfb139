/**
 * actExact: kpu-numerics §6.3/§6.4 under the golden rules (strict boundary, nncase 0.2 rounding, a
 * non-decreasing table) in scalar f64, without branches, for channels that prepare.ts proved exact
 * (`exact`: |acc·norm_mul| < 2^52 and |t| < 2^51 for every segment the channel can choose):
 *   acc = S_lo + 256·S_hi + Tx + C   exact integers below 2^53
 *   bn  = floor(acc·norm_mul·2^−norm_shift) + norm_add   (the product is exact, so floor is the shift)
 *   k   = the highest segment with x_start < bn, else 0: four halvings on the sorted table
 *   y   = (bn − x_start)·y_mul·2^−shift   exact: it is t·2^−shift with |t| < 2^51
 *   R   = round half to even of y (y + 1.5·2^52 − 1.5·2^52)
 *   r   = R for t ≥ 0; 2·floor(y) − R for t < 0 (the reference moves away from floor(y) exactly
 *         when rounding half to even moves up; see runKpuConvJs's bnActGolden, the same formula)
 *   out = clamp(r + bias, 0, 255)
 * It serves the channels with no SIMD window and the 4-pixel groups that leave one; the int64
 * `actScalar` stays for channels that are not exact and for the other rule sets.
 */
import {
  call,
  f64,
  f64x2,
  forUp,
  get,
  i16x8,
  i32,
  i32x4,
  i64x2,
  i8x16,
  if_,
  select,
  set,
  shuffle,
  v128,
  type Expr,
  type Func,
  type Stmt,
} from '../asm.js';
import { CHAN, SEG_F64 } from '../abi.js';
import { c32, add, mul, HIGH_TO_LOW, MAGIC, ZERO, type KernelContext } from './context.js';

const RNE = 1.5 * 2 ** 52;

export function addActExact(cx: KernelContext): Func {
  const { m, fields } = cx;
  return m.func(
    'actExact',
    [
      ['ch', 'i32'],
      ['sLo', 'i32'],
      ['sHi', 'i32'],
      ['tf', 'i32'],
      ['n', 'i32'],
      ['out', 'i32'],
    ],
    null,
    (f) => {
      const [ch, sLo, sHi, tf, n, out] = ['ch', 'sLo', 'sHi', 'tf', 'n', 'out'].map((x) => f.param(x));
      const { loads, v } = fields(f, ['seg']);
      const C = f.local('f64', 'C');
      const M = f.local('f64', 'M');
      const na = f.local('f64', 'na');
      const acc = f.local('f64', 'acc');
      const bn = f.local('f64', 'bn');
      const y = f.local('f64', 'y');
      const R = f.local('f64', 'R');
      const i = f.local('i32', 'i');
      const xs = f.local('i32', 'xs');
      const e = f.local('i32', 'e');
      const q = f.local('i32', 'q');
      /** e + step·8 when x_start[(e − xs)/8 + step] < bn (a table entry's address, 8 bytes a segment) */
      const half = (step: number): Expr =>
        add(get(e), select(c32(step * 8), c32(0), f64.lt(f64.load(get(e), step * 8), get(bn))));
      return [
        ...loads,
        set(C, f64.load(get(ch), CHAN.Cf)),
        set(M, f64.load(get(ch), CHAN.m)),
        set(na, f64.load(get(ch), CHAN.addf)),
        set(xs, add(get(v.seg), c32(SEG_F64))),
        forUp(
          i,
          c32(0),
          get(n),
          1,
          set(acc, f64.convert_i32_s(i32.load(add(get(sLo), mul(get(i), c32(4)))))),
          if_(get(sHi), [
            set(
              acc,
              f64.add(
                get(acc),
                f64.mul(f64.convert_i32_s(i32.load(add(get(sHi), mul(get(i), c32(4))))), f64.const(256)),
              ),
            ),
          ]),
          set(acc, f64.add(f64.add(get(acc), f64.load(add(get(tf), mul(get(i), c32(8))))), get(C))),
          set(bn, f64.add(f64.floor(f64.mul(get(acc), get(M))), get(na))),
          set(e, get(xs)),
          set(e, half(8)),
          set(e, half(4)),
          set(e, half(2)),
          set(e, half(1)),
          set(y, f64.mul(f64.sub(get(bn), f64.load(get(e))), f64.load(get(e), 128))),
          set(R, f64.sub(f64.add(get(y), f64.const(RNE)), f64.const(RNE))),
          // r = R + 2·(floor(y) − R)·[y < 0] (floor(y) − R is 0 or −1: exact), no branch on the sign
          set(
            R,
            f64.add(
              f64.add(
                get(R),
                f64.mul(
                  f64.mul(f64.sub(f64.floor(get(y)), get(R)), f64.const(2)),
                  f64.convert_i32_s(f64.lt(get(y), f64.const(0))),
                ),
              ),
              f64.load(get(e), 256),
            ),
          ),
          set(q, i32.trunc_sat_f64_s(get(R))),
          set(q, select(c32(0), get(q), i32.lt_s(get(q), c32(0)))),
          i32.store8(add(get(out), get(i)), select(c32(255), get(q), i32.gt_s(get(q), c32(255)))),
        ),
      ];
    },
  );
}

/** actExact's arithmetic on four pixels in f64x2 lanes (see addActExactSimd), for a function's locals. */
export interface ExactLanes {
  /** Loads the channel's constants: `ch` its CHAN record, `seg` its segment table. */
  setup(ch: Expr, seg: Expr): Stmt[];
  /**
   * Four outputs from the accumulators of pixels 0, 1 (`acc0`) and 2, 3 (`acc1`), f64x2 lanes each: the
   * statements, then the outputs clamped to 0..255 in the low 4 bytes of `bytes`.
   */
  four(acc0: Expr, acc1: Expr): { stmts: Stmt[]; bytes: Expr };
}

/**
 * The segment is found by counting instead of halving: on a non-decreasing table the segments whose x_start
 * lies below bn are a prefix 0..c−1, so the highest of them (or 0 when there is none) is the number of
 * segments 1..15 with x_start < bn; each lane then loads its segment's three values. Every other step is
 * actExact's in the same order (the rounding fix-up masks with the sign instead of multiplying by it: both
 * add ±0 when y ≥ 0), and the two saturating narrows are its clamp to 0..255.
 */
export function exactLanes(f: Func): ExactLanes {
  const M = f.local('v128', 'xM');
  const na = f.local('v128', 'xNa');
  const xs = f.local('i32', 'xs');
  const starts = Array.from({ length: 15 }, (_, k) => f.local('v128', `x${k + 1}`));
  const q = [f.local('v128', 'q0'), f.local('v128', 'q1')];
  const bn = f.local('v128', 'bn');
  const cnt = f.local('v128', 'cnt');
  const e0 = f.local('i32', 'e0');
  const e1 = f.local('i32', 'e1');
  const y = f.local('v128', 'y');
  const R = f.local('v128', 'R');
  /** Lane 0 from e0, lane 1 from e1, `off` bytes into the segment table's f64 columns. */
  const pair = (off: number): Expr => v128.load64_lane(get(e1), v128.load64_zero(get(e0), off), 1, off);
  const two = (acc: Expr, h: number): Stmt[] => [
    set(bn, f64x2.add(f64x2.floor(f64x2.mul(acc, get(M))), get(na))),
    set(cnt, ZERO),
    ...starts.map((x) => set(cnt, i64x2.sub(get(cnt), f64x2.lt(get(x), get(bn))))),
    set(e0, add(get(xs), mul(i32.wrap_i64(i64x2.extract_lane(get(cnt), 0)), c32(8)))),
    set(e1, add(get(xs), mul(i32.wrap_i64(i64x2.extract_lane(get(cnt), 1)), c32(8)))),
    set(y, f64x2.mul(f64x2.sub(get(bn), pair(0)), pair(128))),
    set(R, f64x2.sub(f64x2.add(get(y), MAGIC), MAGIC)),
    set(
      R,
      f64x2.add(
        f64x2.add(
          get(R),
          v128.and(
            f64x2.mul(f64x2.sub(f64x2.floor(get(y)), get(R)), f64x2.splat(f64.const(2))),
            f64x2.lt(get(y), ZERO),
          ),
        ),
        pair(256),
      ),
    ),
    set(q[h], i32x4.trunc_sat_f64x2_s_zero(get(R))),
  ];
  const w = shuffle(get(q[0]), get(q[1]), LOW_WORDS_2);
  return {
    setup: (ch, seg) => [
      set(M, f64x2.splat(f64.load(ch, CHAN.m))),
      set(na, f64x2.splat(f64.load(ch, CHAN.addf))),
      set(xs, add(seg, c32(SEG_F64))),
      ...starts.map((x, k) => set(x, f64x2.splat(f64.load(get(xs), 8 * (k + 1))))),
    ],
    four: (acc0, acc1) => ({
      stmts: [...two(acc0, 0), ...two(acc1, 1)],
      bytes: i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(w, w), ZERO),
    }),
  };
}

/**
 * actExact four pixels at a time (`exactLanes`), with the same values, for channels with 8-bit weights (no
 * S_hi): acc = S + Tx + C in f64 lanes as there. A remainder of fewer than four pixels, and channels with
 * S_hi, go to actExact.
 */
export function addActExactSimd(cx: KernelContext, actExact: Func): Func {
  const { m, fields } = cx;
  return m.func(
    'actExactSimd',
    [
      ['ch', 'i32'],
      ['sLo', 'i32'],
      ['sHi', 'i32'],
      ['tf', 'i32'],
      ['n', 'i32'],
      ['out', 'i32'],
    ],
    null,
    (f) => {
      const [ch, sLo, sHi, tf, n, out] = ['ch', 'sLo', 'sHi', 'tf', 'n', 'out'].map((x) => f.param(x));
      const { loads, v } = fields(f, ['seg']);
      const C = f.local('v128', 'C');
      const i = f.local('i32', 'i');
      const n4 = f.local('i32', 'n4');
      const a = f.local('v128', 'a');
      const lanes = exactLanes(f);
      const acc = (h: number): Expr =>
        f64x2.add(
          get(C),
          f64x2.add(
            f64x2.convert_low_i32x4_s(h === 0 ? get(a) : shuffle(get(a), get(a), HIGH_TO_LOW)),
            v128.load(add(get(tf), mul(get(i), c32(8))), 16 * h),
          ),
        );
      const { stmts, bytes } = lanes.four(acc(0), acc(1));
      const simdBody: Stmt[] = [
        set(C, f64x2.splat(f64.load(get(ch), CHAN.Cf))),
        ...lanes.setup(get(ch), get(v.seg)),
        set(n4, i32.and(get(n), c32(-4))),
        forUp(
          i,
          c32(0),
          get(n4),
          4,
          set(a, v128.load(add(get(sLo), mul(get(i), c32(4))))),
          ...stmts,
          v128.store32_lane(add(get(out), get(i)), bytes, 0),
        ),
        if_(i32.lt_s(get(n4), get(n)), [
          call(
            actExact,
            get(ch),
            add(get(sLo), mul(get(n4), c32(4))),
            c32(0),
            add(get(tf), mul(get(n4), c32(8))),
            i32.sub(get(n), get(n4)),
            add(get(out), get(n4)),
          ),
        ]),
      ];
      return [
        ...loads,
        if_(get(sHi), [call(actExact, get(ch), get(sLo), get(sHi), get(tf), get(n), get(out))], simdBody),
      ];
    },
  );
}

/** i32 lanes 0, 1 of a then 0, 1 of b. */
const LOW_WORDS_2 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
