/** actScalar: kpu-numerics §6.3/§6.4 in wrapping i64 arithmetic, the reference's own (see ./index.ts). */
import {
  Label,
  block,
  br,
  brIf,
  f64,
  forUp,
  get,
  i32,
  i64,
  if_,
  loop,
  select,
  set,
  type Expr,
  type Func,
  type Stmt,
} from '../asm.js';
import { CHAN } from '../abi.js';
import { c32, c64, add, sub, mul, type KernelContext } from './context.js';

export function addActScalar(cx: KernelContext): Func {
  const { m, fields } = cx;
  return m.func(
    'actScalar',
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
      const { loads, v } = fields(f, ['rules', 'seg']);
      const C = f.local('i64', 'C');
      const nm = f.local('i64', 'nm');
      const ns = f.local('i64', 'ns');
      const na = f.local('i64', 'na');
      const i = f.local('i32', 'i');
      const acc = f.local('i64', 'acc');
      const bn = f.local('i64', 'bn');
      const k = f.local('i32', 'k');
      const e = f.local('i32', 'e');
      const t = f.local('i64', 't');
      const s = f.local('i64', 's');
      const q = f.local('i64', 'q');
      const fr = f.local('i64', 'fr');
      const h = f.local('i64', 'h');
      const sg = f.local('i64', 'sg');
      const r = f.local('i64', 'r');
      const strict = f.local('i32', 'strict');
      const banker = f.local('i32', 'banker');
      const sorted = f.local('i32', 'sorted');
      const xsAt = (kk: Expr): Expr => i64.load(add(get(v.seg), mul(kk, c32(32))));
      /** segment kk qualifies: bn > x_start (strict) or bn ≥ x_start (inclusive) */
      const qual = (kk: Expr): Expr => select(i64.lt_s(xsAt(kk), get(bn)), i64.le_s(xsAt(kk), get(bn)), get(strict));
      const step = (d: number): Stmt => set(k, select(add(get(k), c32(d)), get(k), qual(add(get(k), c32(d)))));
      const scan = new Label('scan');
      const scanTop = new Label('scanTop');
      return [
        ...loads,
        set(strict, i32.and(get(v.rules), c32(1))),
        set(banker, i32.and(get(v.rules), c32(2))),
        set(sorted, i32.and(get(v.rules), c32(4))),
        set(C, i64.load(get(ch), CHAN.C)),
        set(nm, i64.load(get(ch), CHAN.mul)),
        set(ns, i64.load(get(ch), CHAN.shift)),
        set(na, i64.load(get(ch), CHAN.add)),
        forUp(
          i,
          c32(0),
          get(n),
          1,
          set(acc, i64.extend_i32_s(i32.load(add(get(sLo), mul(get(i), c32(4)))))),
          if_(get(sHi), [
            set(
              acc,
              i64.add(get(acc), i64.shl(i64.extend_i32_s(i32.load(add(get(sHi), mul(get(i), c32(4))))), c64(8))),
            ),
          ]),
          // Tx is an exact integer below 2^46 in f64
          set(acc, i64.add(i64.add(get(acc), i64.trunc_f64_s(f64.load(add(get(tf), mul(get(i), c32(8)))))), get(C))),
          // kpu-numerics §6.3: (acc·norm_mul) >> norm_shift (floor), + norm_add; int64 wrapping as the reference
          set(bn, i64.add(i64.shr_s(i64.mul(get(acc), get(nm)), get(ns)), get(na))),
          // kpu-numerics §6.4 step 1: the highest qualifying segment, else 0
          if_(
            get(sorted),
            [set(k, c32(0)), step(8), step(4), step(2), step(1)],
            [
              set(k, c32(15)),
              block(
                scan,
                loop(
                  scanTop,
                  brIf(scan, i32.eqz(get(k))),
                  brIf(scan, qual(get(k))),
                  set(k, sub(get(k), c32(1))),
                  br(scanTop),
                ),
              ),
            ],
          ),
          set(e, add(get(v.seg), mul(get(k), c32(32)))),
          // step 2: t = (bn − x_start)·y_mul
          set(t, i64.mul(i64.sub(get(bn), i64.load(get(e))), i64.load(get(e), 8))),
          set(s, i64.load(get(e), 24)),
          // step 3: rounding shift (see referenceRoundShift)
          if_(
            i64.eqz(get(s)),
            [set(r, get(t))],
            [
              set(sg, select(c64(-1), c64(1), i64.lt_s(get(t), c64(0)))),
              if_(
                get(banker),
                [
                  if_(
                    i64.ge_s(get(s), c64(64)),
                    [
                      // q = floor(t/2^s) is 0 or −1; for t < 0, f = t + 2^s > h always (f = h only at s = 64,
                      // t = −2^63, where q is odd and moves too): r = −2; for t ≥ 0, f = t < h: r = 0
                      set(r, select(c64(-2), c64(0), i64.lt_s(get(t), c64(0)))),
                    ],
                    [
                      set(q, i64.shr_s(get(t), get(s))),
                      set(fr, i64.and(get(t), i64.sub(i64.shl(c64(1), get(s)), c64(1)))),
                      set(h, i64.shl(c64(1), i64.sub(get(s), c64(1)))),
                      set(r, get(q)),
                      if_(
                        i64.gt_u(get(fr), get(h)),
                        [set(r, i64.add(get(q), get(sg)))],
                        [
                          if_(i32.and(i64.eq(get(fr), get(h)), i32.wrap_i64(i64.and(get(q), c64(1)))), [
                            set(r, i64.add(get(q), get(sg))),
                          ]),
                        ],
                      ),
                    ],
                  ),
                ],
                [
                  // nncase 0.1: v = t >> (s−1) (s−1 ≥ 63 gives the same 0 / −1 as 63); odd v moves by sgn(v)
                  set(q, i64.shr_s(get(t), select(c64(63), i64.sub(get(s), c64(1)), i64.gt_s(get(s), c64(64))))),
                  set(r, i64.shr_s(get(q), c64(1))),
                  if_(i32.wrap_i64(i64.and(get(q), c64(1))), [
                    set(r, i64.add(get(r), select(c64(-1), c64(1), i64.lt_s(get(q), c64(0))))),
                  ]),
                ],
              ),
            ],
          ),
          // step 4: + bias, clamp
          set(r, i64.add(get(r), i64.load(get(e), 16))),
          i32.store8(
            add(get(out), get(i)),
            select(
              c32(0),
              select(c32(255), i32.wrap_i64(get(r)), i64.gt_s(get(r), c64(255))),
              i64.lt_s(get(r), c64(0)),
            ),
          ),
        ),
      ];
    },
  );
}
