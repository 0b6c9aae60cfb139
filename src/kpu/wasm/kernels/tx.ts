/** tx: Tx = (arg_x·SX) >> shr_x, exact in f64 (see ./index.ts). */
import { f64, f64x2, forUp, get, set, shuffle, v128, type Func } from '../asm.js';
import { DESC } from '../abi.js';
import { c32, add, mul, HIGH_TO_LOW, LOW_WORDS, MAGIC, type KernelContext } from './context.js';

export function addTx(cx: KernelContext): Func {
  const { m, desc, fields } = cx;
  /** Tx = floor(arg_x·SX·2^−shr_x) for n pixels (n rounded up to 4), as f64 (tf) and mod 2^32 (t32):
   *  arg_x·SX < 2^24·2^22 and the power-of-two scaling are exact in f64, so floor is the reference's
   *  arithmetic shift; Tx + 1.5·2^52 holds Tx mod 2^32 in its low word (|Tx| < 2^51). */
  return m.func(
    'tx',
    [
      ['sx', 'i32'],
      ['n', 'i32'],
    ],
    null,
    (f) => {
      const { loads, v } = fields(f, ['tf', 't32']);
      const sx = f.param('sx');
      const n = f.param('n');
      const i = f.local('i32', 'i');
      const sc = f.local('v128', 'sc');
      const x = f.local('v128', 'x');
      const a = f.local('v128', 'a');
      const b = f.local('v128', 'b');
      const d = f.local('i32', 'd');
      const e = f.local('i32', 'e');
      return [
        ...loads,
        set(sc, f64x2.splat(f64.load(desc(), DESC.argXf * 4))),
        set(d, get(v.tf)),
        set(e, get(v.t32)),
        forUp(
          i,
          c32(0),
          get(n),
          4,
          set(x, v128.load(add(get(sx), mul(get(i), c32(4))))),
          set(a, f64x2.floor(f64x2.mul(f64x2.convert_low_i32x4_s(get(x)), get(sc)))),
          set(b, f64x2.floor(f64x2.mul(f64x2.convert_low_i32x4_s(shuffle(get(x), get(x), HIGH_TO_LOW)), get(sc)))),
          v128.store(get(d), get(a)),
          v128.store(get(d), get(b), 16),
          v128.store(get(e), shuffle(f64x2.add(get(a), MAGIC), f64x2.add(get(b), MAGIC), LOW_WORDS)),
          set(d, add(get(d), c32(32))),
          set(e, add(get(e), c32(16))),
        ),
      ];
    },
  );
}
