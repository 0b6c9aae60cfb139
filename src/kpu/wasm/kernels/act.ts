/** act: per channel, the SIMD or the scalar activation; actPrepool: max pool 2×2 before it (see ./index.ts). */
import {
  call,
  forUp,
  get,
  i32,
  i32x4,
  if_,
  select,
  set,
  shuffle,
  v128,
  type Expr,
  type Func,
  type Local,
} from '../asm.js';
import { CHAN, CHAN_BYTES, RULE } from '../abi.js';
import { c32, add, mul, type KernelContext } from './context.js';

/** i32 lanes 0, 2 of a then b; and 1, 3. */
const EVEN_LANES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD_LANES = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];

export function addAct(
  cx: KernelContext,
  actScalar: Func,
  actSimd: Func,
  actExact: Func,
): { act: Func; actPrepool: Func } {
  const { m, fields } = cx;
  /** acc → act for channel o over n pixels. */
  const act = m.func(
    'act',
    [
      ['o', 'i32'],
      ['sLo', 'i32'],
      ['sHi', 'i32'],
      ['t32', 'i32'],
      ['tf', 'i32'],
      ['n', 'i32'],
      ['out', 'i32'],
    ],
    null,
    (f) => {
      const [o, sLo, sHi, t32, tf, n, out] = ['o', 'sLo', 'sHi', 't32', 'tf', 'n', 'out'].map((x) => f.param(x));
      const { loads, v } = fields(f, ['chan', 'rules']);
      const ch = f.local('i32', 'ch');
      const mode = f.local('i32', 'mode');
      return [
        ...loads,
        set(ch, add(get(v.chan), mul(get(o), c32(CHAN_BYTES)))),
        set(mode, i32.load(get(ch), CHAN.mode)),
        // modes 1, 2 (SIMD window) and 3 (actExact) hold under the golden rules only
        if_(
          i32.or(i32.eqz(get(mode)), i32.eqz(i32.and(get(v.rules), c32(RULE.SIMD)))),
          [call(actScalar, get(ch), get(sLo), get(sHi), get(tf), get(n), get(out))],
          [
            if_(
              i32.eq(get(mode), c32(3)),
              [call(actExact, get(ch), get(sLo), get(sHi), get(tf), get(n), get(out))],
              [call(actSimd, get(ch), get(sLo), get(t32), get(n), get(out), i32.eq(get(mode), c32(2)))],
            ),
          ],
        ),
      ];
    },
  );

  /**
   * Max pool 2×2 stride 2 before the activation, for a channel whose accumulator → output map is
   * monotone (wasm.ts): the pooled value is the activation of the largest (prepool 1) or smallest
   * (prepool 2) S + Tx of each window, taken in i32 lanes (exact: S + Tx lies within ±2^31 for such
   * channels); C is added by the activation. The chunk starts at a row pair and holds n pixels.
   */
  const actPrepool = m.func(
    'actPrepool',
    [
      ['o', 'i32'],
      ['s', 'i32'],
      ['n', 'i32'],
      ['out', 'i32'],
    ],
    null,
    (f) => {
      const [o, s0, n, out] = ['o', 's', 'n', 'out'].map((x) => f.param(x));
      const { loads, v } = fields(f, ['chan', 'W', 'OW', 't32', 'accp', 'zeros']);
      const isMin = f.local('i32', 'isMin');
      const pairs = f.local('i32', 'pairs');
      const r = f.local('i32', 'r');
      const ox = f.local('i32', 'ox');
      const row = f.local('i32', 'row');
      const tr = f.local('i32', 'tr');
      const W4 = f.local('i32', 'W4');
      const d = f.local('i32', 'd');
      const [a, b, c, e] = ['a', 'b', 'c', 'e'].map((x) => f.local('v128', x));
      const at = (base: Local, off: Expr, k: number): Expr =>
        i32x4.add(v128.load(add(get(base), off), k), v128.load(add(get(tr), off), k));
      const pick = (x: Expr, y: Expr): Expr => select(i32x4.min_s(x, y), i32x4.max_s(x, y), get(isMin));
      return [
        ...loads,
        set(isMin, i32.eq(i32.load(add(get(v.chan), mul(get(o), c32(CHAN_BYTES))), CHAN.prepool), c32(2))),
        set(pairs, i32.div_u(get(n), mul(get(v.W), c32(2)))),
        set(W4, mul(get(v.W), c32(4))),
        set(d, get(v.accp)),
        forUp(
          r,
          c32(0),
          get(pairs),
          1,
          set(row, add(get(s0), mul(get(r), mul(get(W4), c32(2))))),
          set(tr, add(get(v.t32), mul(get(r), mul(get(W4), c32(2))))),
          // 4 outputs from 8 columns of two rows; a row's last step may read past it (its lanes are
          // written past OW, then rewritten by the next row or left in the padding)
          forUp(
            ox,
            c32(0),
            get(v.OW),
            4,
            set(a, at(row, mul(get(ox), c32(8)), 0)),
            set(b, at(row, mul(get(ox), c32(8)), 16)),
            set(c, at(row, add(mul(get(ox), c32(8)), get(W4)), 0)),
            set(e, at(row, add(mul(get(ox), c32(8)), get(W4)), 16)),
            set(a, pick(get(a), get(c))),
            set(b, pick(get(b), get(e))),
            v128.store(
              add(get(d), mul(get(ox), c32(4))),
              pick(shuffle(get(a), get(b), EVEN_LANES), shuffle(get(a), get(b), ODD_LANES)),
            ),
          ),
          set(d, add(get(d), mul(get(v.OW), c32(4)))),
        ),
        call(act, get(o), get(v.accp), c32(0), get(v.zeros), get(v.zeros), mul(get(pairs), get(v.OW)), get(out)),
      ];
    },
  );
  return { act, actPrepool };
}
