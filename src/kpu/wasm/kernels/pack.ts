/** pack: planes → input pairs as i16 lanes, for 1×1 (channel pairs) and 3×3 (tap pairs, im2col); see ./index.ts. */
import { forUp, get, i32, if_, set, shuffle, v128, type Expr, type Func, type Stmt } from '../asm.js';
import { c32, add, mul, IL_LO, IL_HI, type KernelContext } from './context.js';

/** The low byte of each i16 lane. */
const EVEN_BYTES = v128.const([255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0]);
/** 8 pixels as i16 lanes: contiguous (stride 1), or every other byte of 16 (stride 2, select pools). */
const px8 = (k: 1 | 2, addr: Expr): Expr => (k === 1 ? v128.load8x8_u(addr) : v128.and(v128.load(addr), EVEN_BYTES));

export function addPack(cx: KernelContext): { pack1x1: Func; im2col: Func } {
  const { m, fields } = cx;
  // 1×1 channel pairs
  const pack1x1 = m.func('pack1x1', [], null, (f) => {
    const { loads, v } = fields(f, ['P', 'HWp', 'planes', 'planeStride', 'xp', 'W', 'sK', 'sDx', 'sH', 'sW']);
    const p = f.local('i32', 'p');
    const i = f.local('i32', 'i');
    const oy = f.local('i32', 'oy');
    const a = f.local('i32', 'a');
    const r = f.local('i32', 'r');
    const d = f.local('i32', 'd');
    const va = f.local('v128', 'va');
    const vb = f.local('v128', 'vb');
    const store = (): Stmt[] => [
      v128.store(get(d), shuffle(get(va), get(vb), IL_LO)),
      v128.store(get(d), shuffle(get(va), get(vb), IL_HI), 16),
      set(d, add(get(d), c32(32))),
    ];
    return [
      ...loads,
      forUp(
        p,
        c32(0),
        get(v.P),
        1,
        set(a, add(get(v.planes), mul(mul(get(p), c32(2)), get(v.planeStride)))),
        set(d, add(get(v.xp), mul(mul(get(p), get(v.HWp)), c32(4)))),
        if_(
          i32.eq(get(v.sK), c32(1)),
          [
            // dense planes: one run over all pixels
            forUp(
              i,
              c32(0),
              get(v.HWp),
              8,
              set(va, px8(1, add(get(a), get(i)))),
              set(vb, px8(1, add(add(get(a), get(v.planeStride)), get(i)))),
              ...store(),
            ),
          ],
          [
            // stride 2: row by row; a row's last step may write the next row's first pixels (rewritten
            // right after) or past the last row (padding)
            forUp(
              oy,
              c32(0),
              get(v.sH),
              1,
              set(r, add(add(get(a), mul(mul(get(oy), c32(2)), get(v.W))), get(v.sDx))),
              set(d, add(get(v.xp), mul(add(mul(get(p), get(v.HWp)), mul(get(oy), get(v.sW))), c32(4)))),
              forUp(
                i,
                c32(0),
                get(v.sW),
                8,
                set(va, px8(2, add(get(r), mul(get(i), c32(2))))),
                set(vb, px8(2, add(add(get(r), get(v.planeStride)), mul(get(i), c32(2))))),
                ...store(),
              ),
            ),
          ],
        ),
      ),
    ];
  });

  // 3×3 tap pairs (im2col)
  const im2col = m.func('im2col', [], null, (f) => {
    const { loads, v } = fields(f, ['IC', 'P', 'W', 'HWp', 'planes', 'planeStride', 'xp', 'sK', 'sDx', 'sH', 'sW']);
    const q = f.local('i32', 'q');
    const t = f.local('i32', 't');
    const y = f.local('i32', 'y');
    const x = f.local('i32', 'x');
    const PW = f.local('i32', 'PW');
    const srcA = f.local('i32', 'srcA');
    const srcB = f.local('i32', 'srcB');
    const strideA = f.local('i32', 'strideA');
    const strideB = f.local('i32', 'strideB');
    const row = f.local('i32', 'row');
    const d = f.local('i32', 'd');
    const va = f.local('v128', 'va');
    const vb = f.local('v128', 'vb');
    /** address of tap t's window origin: plane(t / 9) + (t % 9 / 3)·PW + t % 3 */
    const tapAddr = (tt: Expr): Expr =>
      add(
        add(get(v.planes), mul(i32.div_u(tt, c32(9)), get(v.planeStride))),
        add(mul(i32.div_u(i32.rem_u(tt, c32(9)), c32(3)), get(PW)), i32.rem_u(tt, c32(3))),
      );
    // a row's last step may run past sW: it writes the next row's first pixels (rewritten right
    // after) or the padding after the last row
    const rowLoop = (k: 1 | 2): Stmt =>
      forUp(
        x,
        c32(0),
        get(v.sW),
        8,
        set(va, px8(k, add(get(srcA), k === 1 ? get(x) : mul(get(x), c32(2))))),
        set(vb, px8(k, add(get(srcB), k === 1 ? get(x) : mul(get(x), c32(2))))),
        v128.store(get(d), shuffle(get(va), get(vb), IL_LO)),
        v128.store(get(d), shuffle(get(va), get(vb), IL_HI), 16),
        set(d, add(get(d), c32(32))),
      );
    return [
      ...loads,
      set(PW, add(get(v.W), c32(2))),
      set(strideA, mul(get(PW), get(v.sK))),
      forUp(
        q,
        c32(0),
        get(v.P),
        1,
        set(t, mul(get(q), c32(2))),
        set(srcA, add(tapAddr(get(t)), get(v.sDx))),
        set(t, add(get(t), c32(1))),
        // an odd last tap pairs with the zero plane (index IC), row stride 0
        if_(
          i32.lt_u(get(t), mul(get(v.IC), c32(9))),
          [set(srcB, add(tapAddr(get(t)), get(v.sDx))), set(strideB, get(strideA))],
          [set(srcB, add(get(v.planes), mul(get(v.IC), get(v.planeStride)))), set(strideB, c32(0))],
        ),
        set(row, add(get(v.xp), mul(mul(get(q), get(v.HWp)), c32(4)))),
        forUp(
          y,
          c32(0),
          get(v.sH),
          1,
          set(d, get(row)),
          if_(i32.eq(get(v.sK), c32(1)), [rowLoop(1)], [rowLoop(2)]),
          set(row, add(get(row), mul(get(v.sW), c32(4)))),
          set(srcA, add(get(srcA), get(strideA))),
          set(srcB, add(get(srcB), get(strideB))),
        ),
      ),
    ];
  });
  return { pack1x1, im2col };
}
