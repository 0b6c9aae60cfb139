/** actSimd: the activation in f64 lanes on channels whose window src/kpu/conv/wasm.ts proved exact. */
import {
  Label,
  block,
  brIf,
  f64,
  f64x2,
  forUp,
  get,
  i16x8,
  i32,
  i32x4,
  i8x16,
  if_,
  loop,
  set,
  shuffle,
  v128,
  type Expr,
  type Func,
  type Local,
  type Stmt,
} from '../asm.js';
import { DESC, CHAN } from '../abi.js';
import { exactLanes } from './act-exact.js';
import { c32, add, ZERO, HIGH_TO_LOW, LOW_WORDS, MAGIC, type KernelContext } from './context.js';

/** actExact's arithmetic (`exactLanes`) takes the 4-pixel groups that leave the window (SIMD channels are exact). */
export function addActSimd(cx: KernelContext): Func {
  const { m, desc, field } = cx;
  /*
   * acc = S + Tx + C in i32 lanes (exact: the channel's |acc| < 2^31 and the sum is taken mod 2^32);
   * bn − x0 = floor(acc·norm_mul·2^−shift) + (norm_add − x0) in f64 (exact: |acc·norm_mul| < 2^52);
   * y = (bn − x0)·y_mul·2^−s (exact: |t| < 2^51; a two-piece window uses a second segment's x0,
   * y_mul, s, bias past its split), and y + 1.5·2^52 rounds it to even with the result
   * mod 2^32 in the low word (exact as an i32: the window keeps |y| < 2^30); + bias, then the
   * saturating narrows i32 → i16 → u8 are the clamp to 0..255.
   */
  return m.func(
    'actSimd',
    [
      ['ch', 'i32'],
      ['sLo', 'i32'],
      ['t32', 'i32'],
      ['n', 'i32'],
      ['out', 'i32'],
      ['check', 'i32'],
    ],
    null,
    (f) => {
      const [ch, sLo, t32, n, out, chk] = ['ch', 'sLo', 't32', 'n', 'out', 'check'].map((x) => f.param(x));
      const i = f.local('i32', 'i');
      const sp = f.local('i32', 'sp');
      const tp = f.local('i32', 'tp');
      const op = f.local('i32', 'op');
      const [Cv, M, addx, lo, hi, ym, bias, split, dxB, ymB, biasB] = [
        'Cv',
        'M',
        'addx',
        'lo',
        'hi',
        'ym',
        'bias',
        'split',
        'dxB',
        'ymB',
        'biasB',
      ].map((x) => f.local('v128', x));
      const a0 = f.local('v128', 'a0');
      const a1 = f.local('v128', 'a1');
      const b = [0, 1, 2, 3].map((k) => f.local('v128', `b${k}`));
      const mk2 = [0, 1, 2, 3].map((k) => f.local('v128', `m${k}`));
      const sat = f.local('v128', 'sat');
      const satV = f.local('v128', 'satV');
      const head = f.local('v128', 'head');
      const headV = f.local('v128', 'headV');
      const ms = [0, 1].map((k) => f.local('v128', `s${k}`));
      const mh = [0, 1].map((k) => f.local('v128', `h${k}`));
      /** outside the window and neither end */
      const missed = (k: number): Expr => v128.andnot(v128.andnot(outside(b[k]), get(ms[k])), get(mh[k]));
      const splat = (off: number): Expr => f64x2.splat(f64.load(get(ch), off));
      const outside = (bv: Local): Expr => v128.or(f64x2.le(get(bv), get(lo)), f64x2.gt(get(bv), get(hi)));
      const plainHi = f.local('v128', 'plainHi');
      const fast = f.local('v128', 'fast');
      /** above the constant bottom and outside the window or in the constant top (set mh first) */
      const notPlain = (k: number): Expr =>
        v128.andnot(v128.or(f64x2.le(get(b[k]), get(lo)), f64x2.gt(get(b[k]), get(plainHi))), get(mh[k]));
      const accOf = (off: number): Expr =>
        i32x4.add(i32x4.add(v128.load(get(sp), off), v128.load(get(tp), off)), get(Cv));
      const bnOf = (acc: Expr): Expr =>
        f64x2.add(f64x2.floor(f64x2.mul(f64x2.convert_low_i32x4_s(acc), get(M))), get(addx));
      const hiOf = (a: Local): Expr => shuffle(get(a), get(a), HIGH_TO_LOW);
      const exact = exactLanes(f);
      // acc is exact in the i32 lanes (see above), so actExact's f64 acc is their value
      const fallback = exact.four(f64x2.convert_low_i32x4_s(get(a0)), f64x2.convert_low_i32x4_s(hiOf(a0)));
      /**
       * 4 outputs as i32 lanes, before the clamp, from bn − x0 in p (lanes 0, 1) and q (2, 3). Two
       * pieces: lanes past the split take the second formula, on bn − x0 − (x0' − x0) = bn − x0'.
       */
      const out4 = (two: boolean, p: Local, q: Local, mp: Local, mq: Local): Stmt[] => {
        if (!two)
          return [
            set(
              a0,
              i32x4.add(
                shuffle(
                  f64x2.add(f64x2.mul(get(p), get(ym)), MAGIC),
                  f64x2.add(f64x2.mul(get(q), get(ym)), MAGIC),
                  LOW_WORDS,
                ),
                get(bias),
              ),
            ),
          ];
        const y = (v: Local, mv: Local): Expr =>
          f64x2.add(
            f64x2.mul(f64x2.sub(get(v), v128.and(get(mv), get(dxB))), v128.bitselect(get(ymB), get(ym), get(mv))),
            MAGIC,
          );
        return [
          set(mp, f64x2.gt(get(p), get(split))),
          set(mq, f64x2.gt(get(q), get(split))),
          set(
            a0,
            i32x4.add(
              shuffle(y(p, mp), y(q, mq), LOW_WORDS),
              v128.bitselect(get(biasB), get(bias), shuffle(get(mp), get(mq), LOW_WORDS)),
            ),
          ),
        ];
      };
      /** the whole bn range is in the window: 8 pixels per step (n rounded up to 8; rows have room) */
      const wide = (two: boolean): Stmt =>
        forUp(
          i,
          c32(0),
          get(n),
          8,
          set(a0, accOf(0)),
          set(a1, accOf(16)),
          set(b[0], bnOf(get(a0))),
          set(b[1], bnOf(hiOf(a0))),
          set(b[2], bnOf(get(a1))),
          set(b[3], bnOf(hiOf(a1))),
          ...out4(two, b[2], b[3], mk2[2], mk2[3]),
          set(a1, get(a0)),
          ...out4(two, b[0], b[1], mk2[0], mk2[1]),
          set(a0, i16x8.narrow_i32x4_s(get(a0), get(a1))),
          v128.store64_lane(get(op), i8x16.narrow_i16x8_u(get(a0), get(a0)), 0),
          set(sp, add(get(sp), c32(32))),
          set(tp, add(get(tp), c32(32))),
          set(op, add(get(op), c32(8))),
        );
      /**
       * 4 pixels per step: lanes in the table's constant bottom (bn − x0 ≤ head) or top (bn − x0 > sat)
       * output that constant, the others the window's formula, and a step with a lane outside the window
       * and neither end takes actExact's arithmetic. A step whose lanes are all in the bottom or in
       * (lo, min(hi, sat)] skips the checks for the top and the window (it has neither).
       */
      const head4 = (): Stmt[] => [
        set(a0, v128.bitselect(get(headV), get(a0), shuffle(get(mh[0]), get(mh[1]), LOW_WORDS))),
      ];
      const store4 = (): Stmt[] => [
        set(a0, i16x8.narrow_i32x4_s(get(a0), ZERO)),
        v128.store32_lane(get(op), i8x16.narrow_i16x8_u(get(a0), get(a0)), 0),
      ];
      /** One 4-pixel step of the checked loop (see above), pointers and i advanced. */
      const step4 = (two: boolean): Stmt[] => [
        set(a0, accOf(0)),
        set(b[0], bnOf(get(a0))),
        set(b[1], bnOf(hiOf(a0))),
        set(mh[0], f64x2.le(get(b[0]), get(head))),
        set(mh[1], f64x2.le(get(b[1]), get(head))),
        if_(
          v128.any_true(v128.or(notPlain(0), notPlain(1))),
          [
            set(ms[0], f64x2.gt(get(b[0]), get(sat))),
            set(ms[1], f64x2.gt(get(b[1]), get(sat))),
            if_(
              v128.any_true(v128.or(missed(0), missed(1))),
              [
                i32.store(desc(), add(field(DESC.fallbacks), c32(1)), DESC.fallbacks * 4),
                ...fallback.stmts,
                v128.store32_lane(get(op), fallback.bytes, 0),
              ],
              [
                ...out4(two, b[0], b[1], mk2[0], mk2[1]),
                set(a0, v128.bitselect(get(satV), get(a0), shuffle(get(ms[0]), get(ms[1]), LOW_WORDS))),
                ...head4(),
                ...store4(),
              ],
            ),
          ],
          [...out4(two, b[0], b[1], mk2[0], mk2[1]), ...head4(), ...store4()],
        ),
        set(sp, add(get(sp), c32(16))),
        set(tp, add(get(tp), c32(16))),
        set(op, add(get(op), c32(4))),
        set(i, add(get(i), c32(4))),
      ];
      const checked = (two: boolean): Stmt => {
        const top = new Label('top');
        const exit = new Label('exit');
        return block(
          exit,
          set(i, c32(0)),
          brIf(exit, i32.ge_s(get(i), get(n))),
          loop(top, ...step4(two), brIf(top, i32.lt_s(get(i), get(n)))),
        );
      };
      /**
       * The checked loop of a channel whose window reaches down to the constant bottom (lo = −∞, as
       * on ReLU tables): 8 pixels a step when every lane is at most `fast` (the window's first piece
       * below the top and the split), where a lane is the bottom's value or the first piece's formula;
       * otherwise, and for the last pixels, one 4-pixel step of the checked loop.
       */
      const checkedOpen = (two: boolean): Stmt => {
        const top = new Label('top');
        const exit = new Label('exit');
        const hm = (k: number): Expr => f64x2.le(get(b[k]), get(head));
        const over = (k: number): Expr => f64x2.gt(get(b[k]), get(fast));
        return block(
          exit,
          set(i, c32(0)),
          brIf(exit, i32.ge_s(get(i), get(n))),
          loop(
            top,
            set(a0, accOf(0)),
            set(a1, accOf(16)),
            set(b[0], bnOf(get(a0))),
            set(b[1], bnOf(hiOf(a0))),
            set(b[2], bnOf(get(a1))),
            set(b[3], bnOf(hiOf(a1))),
            if_(
              i32.or(
                i32.gt_s(add(get(i), c32(8)), get(n)),
                v128.any_true(v128.or(v128.or(over(0), over(1)), v128.or(over(2), over(3)))),
              ),
              step4(two),
              [
                ...out4(false, b[2], b[3], mk2[2], mk2[3]),
                set(a1, v128.bitselect(get(headV), get(a0), shuffle(hm(2), hm(3), LOW_WORDS))),
                ...out4(false, b[0], b[1], mk2[0], mk2[1]),
                set(a0, v128.bitselect(get(headV), get(a0), shuffle(hm(0), hm(1), LOW_WORDS))),
                set(a0, i16x8.narrow_i32x4_s(get(a0), get(a1))),
                v128.store64_lane(get(op), i8x16.narrow_i16x8_u(get(a0), get(a0)), 0),
                set(sp, add(get(sp), c32(32))),
                set(tp, add(get(tp), c32(32))),
                set(op, add(get(op), c32(8))),
                set(i, add(get(i), c32(8))),
              ],
            ),
            brIf(top, i32.lt_s(get(i), get(n))),
          ),
        );
      };
      return [
        set(Cv, i32x4.splat(i32.load(get(ch), CHAN.C32))),
        set(M, splat(CHAN.m)),
        set(addx, splat(CHAN.addx)),
        set(lo, splat(CHAN.lo)),
        set(hi, splat(CHAN.hi)),
        set(ym, splat(CHAN.ymsc)),
        set(bias, i32x4.splat(i32.load(get(ch), CHAN.bias))),
        set(split, splat(CHAN.split)),
        set(dxB, splat(CHAN.dxB)),
        set(ymB, splat(CHAN.ymscB)),
        set(biasB, i32x4.splat(i32.load(get(ch), CHAN.biasB))),
        set(sat, splat(CHAN.sat)),
        set(satV, i32x4.splat(i32.load(get(ch), CHAN.satVal))),
        set(head, splat(CHAN.head)),
        set(headV, i32x4.splat(i32.load(get(ch), CHAN.headVal))),
        set(plainHi, f64x2.min(get(hi), get(sat))),
        set(fast, f64x2.min(get(plainHi), get(split))),
        ...exact.setup(get(ch), field(DESC.seg)),
        set(sp, get(sLo)),
        set(tp, get(t32)),
        set(op, get(out)),
        if_(
          i32.eqz(get(chk)),
          [if_(i32.load(get(ch), CHAN.two), [wide(true)], [wide(false)])],
          [
            if_(
              f64.lt(f64.load(get(ch), CHAN.lo), f64.const(-Number.MAX_VALUE)),
              [if_(i32.load(get(ch), CHAN.two), [checkedOpen(true)], [checkedOpen(false)])],
              [if_(i32.load(get(ch), CHAN.two), [checked(true)], [checked(false)])],
            ),
          ],
        ),
      ];
    },
  );
}
