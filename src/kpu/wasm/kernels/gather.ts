/** gather: kpu-numerics §6.8 input layout → channel planes (see ./index.ts). */
import { call, forUp, get, i32, if_, memory, select, set, type Func } from '../asm.js';
import { c32, add, mul, type KernelContext } from './context.js';

export function addGather(cx: KernelContext, copyRow: Func): Func {
  const { m, fields } = cx;
  return m.func('gather', [], null, (f) => {
    const { loads, v } = fields(f, [
      'flags',
      'IC',
      'H',
      'W',
      'inBase',
      'inGroups',
      'inPitch',
      'inLine',
      'planes',
      'planeStride',
      'padValue',
      'HWp',
    ]);
    const ch = f.local('i32', 'c');
    const y = f.local('i32', 'y');
    const src = f.local('i32', 'src');
    const dst = f.local('i32', 'dst');
    const k3 = f.local('i32', 'k3');
    const step = f.local('i32', 'step');
    return [
      ...loads,
      set(k3, i32.and(get(v.flags), c32(1))),
      set(step, select(add(get(v.W), c32(2)), get(v.W), get(k3))),
      // 3×3 planes start as all pad_value (the border stays so); the extra plane IC is zero
      if_(get(k3), [memory.fill(get(v.planes), get(v.padValue), mul(get(v.IC), get(v.planeStride)))]),
      memory.fill(add(get(v.planes), mul(get(v.IC), get(v.planeStride))), c32(0), add(get(v.planeStride), c32(64))),
      forUp(
        ch,
        c32(0),
        get(v.IC),
        1,
        set(
          src,
          add(
            add(get(v.inBase), mul(mul(i32.div_u(get(ch), get(v.inGroups)), get(v.inLine)), get(v.H))),
            mul(i32.rem_u(get(ch), get(v.inGroups)), get(v.inPitch)),
          ),
        ),
        set(
          dst,
          add(add(get(v.planes), mul(get(ch), get(v.planeStride))), select(add(get(step), c32(1)), c32(0), get(k3))),
        ),
        forUp(
          y,
          c32(0),
          get(v.H),
          1,
          call(copyRow, get(dst), get(src), get(v.W)),
          set(src, add(get(src), get(v.inLine))),
          set(dst, add(get(dst), get(step))),
        ),
      ),
    ];
  });
}
