/** copyRow: a short byte copy that the gather and pool stages call per row. */
import { Label, block, brIf, get, i32, i64, if_, loop, set, v128, type Func } from '../asm.js';
import { c32, add, type KernelContext } from './context.js';

export function addCopyRow(cx: KernelContext): Func {
  const { m } = cx;
  /** Copies n bytes (a row: short, many of them) without a runtime call: 16 bytes per step, then 8, 4, 1. */
  return m.func(
    'copyRow',
    [
      ['dst', 'i32'],
      ['src', 'i32'],
      ['n', 'i32'],
    ],
    null,
    (f) => {
      const [dst, src, n] = ['dst', 'src', 'n'].map((x) => f.param(x));
      const end = f.local('i32', 'end');
      const l16 = new Label('l16');
      const x16 = new Label('x16');
      const l1 = new Label('l1');
      const x1 = new Label('x1');
      return [
        set(end, add(get(dst), get(n))),
        block(
          x16,
          brIf(x16, i32.lt_s(get(n), c32(16))),
          loop(
            l16,
            v128.store(get(dst), v128.load(get(src))),
            set(dst, add(get(dst), c32(16))),
            set(src, add(get(src), c32(16))),
            brIf(l16, i32.le_s(add(get(dst), c32(16)), get(end))),
          ),
        ),
        if_(i32.le_s(add(get(dst), c32(8)), get(end)), [
          i64.store(get(dst), i64.load(get(src))),
          set(dst, add(get(dst), c32(8))),
          set(src, add(get(src), c32(8))),
        ]),
        if_(i32.le_s(add(get(dst), c32(4)), get(end)), [
          i32.store(get(dst), i32.load(get(src))),
          set(dst, add(get(dst), c32(4))),
          set(src, add(get(src), c32(4))),
        ]),
        block(
          x1,
          brIf(x1, i32.ge_s(get(dst), get(end))),
          loop(
            l1,
            i32.store8(get(dst), i32.load8_u(get(src))),
            set(dst, add(get(dst), c32(1))),
            set(src, add(get(src), c32(1))),
            brIf(l1, i32.lt_s(get(dst), get(end))),
          ),
        ),
      ];
    },
    false,
  );
}
