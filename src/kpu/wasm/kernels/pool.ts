/** pool: kpu-numerics §6.6 into the output map and the dense copy (see ./index.ts). */
import { call, forUp, get, i32, i8x16, if_, select, set, shuffle, v128, type Expr, type Func } from '../asm.js';
import { CHAN, CHAN_BYTES, RULE } from '../abi.js';
import { c32, add, sub, mul, type KernelContext } from './context.js';

export function addPool(cx: KernelContext, copyRow: Func): Func {
  const { m, fields } = cx;
  /**
   * kpu-numerics §6.6 from the activation plane of channel o into its place in the output map (and the
   * dense copy).
   */
  return m.func('pool', [['o', 'i32']], null, (f) => {
    const o = f.param('o');
    const { loads, v } = fields(f, [
      'flags',
      'pool',
      'sH',
      'sW',
      'OH',
      'OW',
      'act',
      'actStride',
      'outBase',
      'outGroups',
      'outPitch',
      'outLine',
      'dense',
      'chan',
      'rules',
    ]);
    const src = f.local('i32', 'src');
    const dst = f.local('i32', 'dst');
    const oy = f.local('i32', 'oy');
    const ox = f.local('i32', 'ox');
    const ky = f.local('i32', 'ky');
    const kx = f.local('i32', 'kx');
    const K = f.local('i32', 'K');
    const stride = f.local('i32', 'stride');
    const dx = f.local('i32', 'dx');
    const acc = f.local('i32', 'acc');
    const val = f.local('i32', 'val');
    const isMax = f.local('i32', 'isMax');
    const isMean = f.local('i32', 'isMean');
    const r0 = f.local('i32', 'r0');
    const r1 = f.local('i32', 'r1');
    const x0 = f.local('i32', 'x0');
    const yy = f.local('i32', 'yy');
    const xx = f.local('i32', 'xx');
    const ow8 = f.local('i32', 'ow8');
    const a = f.local('v128', 'a');
    const pt = get(v.pool);
    const isIn = (...ts: number[]): Expr => ts.map((t) => i32.eq(pt, c32(t))).reduce((x, y2) => i32.or(x, y2));
    const minI = (a2: Expr, b2: Expr): Expr => select(a2, b2, i32.lt_s(a2, b2));
    // generic window: rows/cols clamped to the map (replicating the edge, which max cannot tell
    // from ignoring it; the stride types never leave the map)
    const generic = forUp(
      ox,
      get(x0),
      get(v.OW),
      1,
      set(acc, c32(0)),
      forUp(
        ky,
        c32(0),
        get(K),
        1,
        set(yy, minI(add(mul(get(oy), get(stride)), get(ky)), sub(get(v.sH), c32(1)))),
        forUp(
          kx,
          c32(0),
          get(K),
          1,
          set(xx, minI(add(add(mul(get(ox), get(stride)), get(kx)), get(dx)), sub(get(v.sW), c32(1)))),
          set(val, i32.load8_u(add(get(src), add(mul(get(yy), get(v.sW)), get(xx))))),
          set(
            acc,
            select(select(get(val), get(acc), i32.gt_u(get(val), get(acc))), add(get(acc), get(val)), get(isMax)),
          ),
        ),
      ),
      i32.store8(
        add(get(dst), get(ox)),
        select(i32.shr_u(get(acc), select(c32(4), c32(2), i32.eq(get(K), c32(4)))), get(acc), get(isMean)),
      ),
    );
    return [
      ...loads,
      // a channel pooled before its activation holds its OH×OW result already
      if_(
        i32.and(
          i32.ne(i32.load(add(get(v.chan), mul(get(o), c32(CHAN_BYTES))), CHAN.prepool), c32(0)),
          i32.ne(i32.and(get(v.rules), c32(RULE.SIMD)), c32(0)),
        ),
        [set(v.pool, c32(0)), set(v.sH, get(v.OH)), set(v.sW, get(v.OW))],
      ),
      set(src, add(get(v.act), mul(get(o), get(v.actStride)))),
      set(
        dst,
        add(
          add(get(v.outBase), mul(mul(i32.div_u(get(o), get(v.outGroups)), get(v.outLine)), get(v.OH))),
          mul(i32.rem_u(get(o), get(v.outGroups)), get(v.outPitch)),
        ),
      ),
      set(K, select(c32(4), select(c32(2), c32(1), isIn(1, 2, 8, 9)), isIn(3, 4))),
      set(stride, select(c32(4), select(c32(1), c32(2), isIn(0, 8, 9)), isIn(3, 4, 7))),
      set(dx, select(c32(1), c32(0), i32.eq(pt, c32(6)))),
      set(isMax, isIn(1, 3, 9)),
      set(isMean, isIn(2, 4, 8)),
      // columns done 8 at a time: max 2×2 s2 while whole groups fit; max 2×2 s1 while column ox + 8
      // (the right neighbour of the group's last pixel) is inside the row
      set(
        ow8,
        select(
          i32.and(get(v.OW), c32(-8)),
          select(i32.and(sub(get(v.OW), c32(1)), c32(-8)), c32(0), i32.eq(pt, c32(9))),
          i32.eq(pt, c32(1)),
        ),
      ),
      forUp(
        oy,
        c32(0),
        get(v.OH),
        1,
        if_(
          i32.eqz(pt),
          [call(copyRow, get(dst), add(get(src), mul(get(oy), get(v.sW))), get(v.sW))],
          [
            if_(
              i32.eq(pt, c32(9)),
              [
                // max 2×2 stride 1: rows oy and oy + 1 (the last row pairs with itself), 8 outputs per step
                set(r0, add(get(src), mul(get(oy), get(v.sW)))),
                set(r1, add(get(src), mul(minI(add(get(oy), c32(1)), sub(get(v.sH), c32(1))), get(v.sW)))),
                forUp(
                  ox,
                  c32(0),
                  get(ow8),
                  8,
                  set(a, i8x16.max_u(v128.load64_zero(add(get(r0), get(ox))), v128.load64_zero(add(get(r1), get(ox))))),
                  v128.store64_lane(
                    add(get(dst), get(ox)),
                    i8x16.max_u(
                      get(a),
                      i8x16.max_u(
                        v128.load64_zero(add(get(r0), get(ox)), 1),
                        v128.load64_zero(add(get(r1), get(ox)), 1),
                      ),
                    ),
                    0,
                  ),
                ),
              ],
              [
                // max 2×2 stride 2, 8 outputs per step: row max, then max of byte pairs
                set(r0, add(get(src), mul(mul(get(oy), c32(2)), get(v.sW)))),
                forUp(
                  ox,
                  c32(0),
                  get(ow8),
                  8,
                  set(
                    a,
                    i8x16.max_u(
                      v128.load(add(get(r0), mul(get(ox), c32(2)))),
                      v128.load(add(add(get(r0), get(v.sW)), mul(get(ox), c32(2)))),
                    ),
                  ),
                  v128.store64_lane(
                    add(get(dst), get(ox)),
                    i8x16.max_u(
                      shuffle(get(a), get(a), [0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14]),
                      shuffle(get(a), get(a), [1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15]),
                    ),
                    0,
                  ),
                ),
              ],
            ),
            set(x0, get(ow8)),
            generic,
          ],
        ),
        if_(i32.and(get(v.flags), c32(16)), [
          call(
            copyRow,
            add(get(v.dense), add(mul(mul(get(o), get(v.OH)), get(v.OW)), mul(get(oy), get(v.OW)))),
            get(dst),
            get(v.OW),
          ),
        ]),
        set(dst, add(get(dst), get(v.outLine))),
      ),
    ];
  });
}
