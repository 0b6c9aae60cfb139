/** dw: depthwise 3×3 / 1×1 on the padded planes (see ./index.ts). */
import { forUp, get, i16x8, i32, i32x4, if_, select, set, shuffle, v128, type Func, type Stmt } from '../asm.js';
import { c32, add, mul, IL_LO, IL_HI, ZERO, type KernelContext } from './context.js';

export function addDw(cx: KernelContext): Func {
  const { m, fields } = cx;
  /** Channel o: S rows (lo at s, hi at s + HWp·4 when wide) and SX at s + 2·HWp·4, whole plane. */
  return m.func('dw', [['o', 'i32']], null, (f) => {
    const o = f.param('o');
    const { loads, v } = fields(f, ['flags', 'OC', 'H', 'W', 'HW', 'HWp', 'planes', 'planeStride', 'wt', 's']);
    const y = f.local('i32', 'y');
    const x = f.local('i32', 'x');
    const i = f.local('i32', 'i');
    const PW = f.local('i32', 'PW');
    const r0 = f.local('i32', 'r0');
    const d = f.local('i32', 'd');
    const plane = f.local('i32', 'plane');
    const wl = f.local('i32', 'wl');
    const sx = f.local('i32', 'sx');
    const pl = f.local('i32', 'pl');
    const npl = f.local('i32', 'npl');
    const tp = Array.from({ length: 9 }, (_, k) => f.local('v128', `t${k}`));
    const w = Array.from({ length: 5 }, (_, k) => f.local('v128', `w${k}`));
    const accL = f.local('v128', 'accL');
    const accH = f.local('v128', 'accH');
    const sum = f.local('v128', 'sum');
    const xv = f.local('v128', 'xv');
    const lo = f.local('v128', 'lo');
    const hi = f.local('v128', 'hi');
    const wide = i32.and(get(v.flags), c32(4));
    const tapLoads: Stmt[] = [];
    for (let k = 0; k < 9; k++)
      tapLoads.push(set(tp[k], v128.load8x8_u(add(get(r0), mul(get(PW), c32(Math.floor(k / 3)))), k % 3)));
    const dots: Stmt[] = [set(accL, ZERO), set(accH, ZERO)];
    for (let k = 0; k < 5; k++) {
      const a = tp[2 * k];
      const b = k < 4 ? tp[2 * k + 1] : tp[8]; // tap 8 pairs with itself, against weights (w8, 0)
      dots.push(
        set(accL, i32x4.add(get(accL), i32x4.dot_i16x8_s(shuffle(get(a), get(b), IL_LO), get(w[k])))),
        set(accH, i32x4.add(get(accH), i32x4.dot_i16x8_s(shuffle(get(a), get(b), IL_HI), get(w[k])))),
      );
    }
    let sumExpr = get(tp[0]);
    for (let k = 1; k < 9; k++) sumExpr = i16x8.add(sumExpr, get(tp[k]));
    const k3 = [
      set(PW, add(get(v.W), c32(2))),
      forUp(
        pl,
        c32(0),
        get(npl),
        1,
        // weights of plane pl: 5 tap pairs as i32 at wt + (pl·OC + o)·20
        set(wl, add(get(v.wt), mul(add(mul(get(pl), get(v.OC)), get(o)), c32(20)))),
        ...w.map((wk, k) => set(wk, v128.load32_splat(get(wl), k * 4))),
        set(d, add(get(v.s), mul(mul(get(pl), get(v.HWp)), c32(4)))),
        forUp(
          y,
          c32(0),
          get(v.H),
          1,
          set(r0, add(get(plane), mul(get(y), get(PW)))),
          set(i, mul(get(y), get(v.W))),
          forUp(
            x,
            c32(0),
            get(v.W),
            8,
            ...tapLoads,
            ...dots,
            v128.store(add(get(d), mul(get(i), c32(4))), get(accL)),
            v128.store(add(get(d), mul(get(i), c32(4))), get(accH), 16),
            if_(i32.eqz(get(pl)), [
              set(sum, sumExpr),
              v128.store(add(get(sx), mul(get(i), c32(4))), i32x4.extend_low_i16x8_u(get(sum))),
              v128.store(add(get(sx), mul(get(i), c32(4))), i32x4.extend_high_i16x8_u(get(sum)), 16),
            ]),
            set(r0, add(get(r0), c32(8))),
            set(i, add(get(i), c32(8))),
          ),
        ),
      ),
    ];
    const k1 = [
      forUp(
        pl,
        c32(0),
        get(npl),
        1,
        set(w[0], i32x4.splat(i32.load(add(get(v.wt), mul(add(mul(get(pl), get(v.OC)), get(o)), c32(4)))))),
        set(d, add(get(v.s), mul(mul(get(pl), get(v.HWp)), c32(4)))),
        forUp(
          i,
          c32(0),
          get(v.HW),
          8,
          set(xv, v128.load8x8_u(add(get(plane), get(i)))),
          set(lo, i32x4.extend_low_i16x8_u(get(xv))),
          set(hi, i32x4.extend_high_i16x8_u(get(xv))),
          v128.store(add(get(d), mul(get(i), c32(4))), i32x4.mul(get(lo), get(w[0]))),
          v128.store(add(get(d), mul(get(i), c32(4))), i32x4.mul(get(hi), get(w[0])), 16),
          if_(i32.eqz(get(pl)), [
            v128.store(add(get(sx), mul(get(i), c32(4))), get(lo)),
            v128.store(add(get(sx), mul(get(i), c32(4))), get(hi), 16),
          ]),
        ),
      ),
    ];
    return [
      ...loads,
      set(plane, add(get(v.planes), mul(get(o), get(v.planeStride)))),
      set(sx, add(get(v.s), mul(get(v.HWp), c32(8)))),
      set(npl, select(c32(2), c32(1), wide)),
      if_(i32.and(get(v.flags), c32(1)), k3, k1),
    ];
  });
}
