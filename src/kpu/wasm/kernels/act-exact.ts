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
import { f64, forUp, get, i32, if_, select, set, type Expr, type Func } from '../asm.js';
import { CHAN, SEG_F64 } from '../abi.js';
import { c32, add, mul, type KernelContext } from './context.js';

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
