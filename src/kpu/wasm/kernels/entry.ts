/** The exported entry points, `prep` and `part`: one batch item, its output channels in parts. */
import { call, forUp, get, globalSet, i32, if_, select, set, type Expr, type Func } from '../asm.js';
import { DESC, CHAN, CHAN_BYTES, FLAG, RULE } from '../abi.js';
import { c32, add, sub, mul, type KernelContext } from './context.js';

/** The stages that the entry points call. */
export interface Stages {
  readonly gather: Func;
  readonly pack1x1: Func;
  readonly im2col: Func;
  readonly gemmRows: Func;
  readonly tx: Func;
  readonly act: Func;
  readonly actPrepool: Func;
  readonly dw: Func;
  readonly pool: Func;
}

export function addEntries(cx: KernelContext, s: Stages): void {
  const { m, field, fields, descAt } = cx;
  /** Gathers the input into planes and packs them (the part of a layer that every output channel reads). */
  m.func('prep', [['desc', 'i32']], null, (f) => {
    const d = f.param('desc');
    const flags = f.local('i32', 'flags');
    return [
      globalSet(descAt, get(d)),
      set(flags, field(DESC.flags)),
      call(s.gather),
      if_(i32.eqz(i32.and(get(flags), c32(FLAG.DW))), [
        if_(i32.and(get(flags), c32(FLAG.K3)), [call(s.im2col)], [call(s.pack1x1)]),
      ]),
    ];
  });

  /**
   * Output channels [o0, o1) after `prep`: conv, Tx, activation and pool into the output map. o0 is a
   * multiple of 4 and o1 too or OC. Parts of one layer write disjoint bytes and read only what
   * `prep` wrote, so two threads run parts at once, each with its own descriptor (its own scratch:
   * SX row, Tx, pooled accumulators, depthwise S rows).
   */
  m.func(
    'part',
    [
      ['desc', 'i32'],
      ['o0', 'i32'],
      ['o1', 'i32'],
    ],
    null,
    (f) => {
      const [d, o0, o1] = ['desc', 'o0', 'o1'].map((x) => f.param(x));
      const { loads, v } = fields(f, [
        'flags',
        'OC',
        'HW',
        'HWp',
        'CH',
        's',
        'sStride',
        'sxRow',
        'act',
        'actStride',
        'chan',
        'rules',
        'W',
        'OW',
        't32',
        'tf',
      ]);
      const o = f.local('i32', 'o');
      const i0 = f.local('i32', 'i0');
      const i1 = f.local('i32', 'i1');
      const n = f.local('i32', 'n');
      const OCr = f.local('i32', 'OCr');
      const golden = i32.ne(i32.and(get(v.rules), c32(RULE.SIMD)), c32(0));
      const hasFlag = (b: number): Expr => i32.and(get(v.flags), c32(b));
      return [
        globalSet(descAt, get(d)),
        ...loads,
        // the second byte plane's rows start at OC rounded up to 4, the SX weights' row after the planes
        set(OCr, i32.and(add(get(v.OC), c32(3)), c32(-4))),
        if_(
          hasFlag(FLAG.DW),
          [
            forUp(
              o,
              get(o0),
              get(o1),
              1,
              call(s.dw, get(o)),
              if_(hasFlag(FLAG.SX), [call(s.tx, add(get(v.s), mul(get(v.HWp), c32(8))), get(v.HW))]),
              call(
                s.act,
                get(o),
                get(v.s),
                select(add(get(v.s), mul(get(v.HWp), c32(4))), c32(0), hasFlag(FLAG.WIDE)),
                get(v.t32),
                get(v.tf),
                get(v.HW),
                add(get(v.act), mul(get(o), get(v.actStride))),
              ),
            ),
          ],
          [
            forUp(
              i0,
              c32(0),
              get(v.HWp),
              get(v.CH),
              set(i1, select(get(v.HWp), add(get(i0), get(v.CH)), i32.lt_s(get(v.HWp), add(get(i0), get(v.CH))))),
              call(s.gemmRows, get(i0), get(i1), get(o0), get(o0), sub(get(o1), get(o0))),
              if_(hasFlag(FLAG.WIDE), [
                call(
                  s.gemmRows,
                  get(i0),
                  get(i1),
                  add(get(OCr), get(o0)),
                  add(get(OCr), get(o0)),
                  sub(get(o1), get(o0)),
                ),
              ]),
              if_(hasFlag(FLAG.SX), [
                call(
                  s.gemmRows,
                  get(i0),
                  get(i1),
                  select(mul(get(OCr), c32(2)), get(OCr), hasFlag(FLAG.WIDE)),
                  get(v.sxRow),
                  c32(1),
                ),
                call(s.tx, add(get(v.s), mul(get(v.sxRow), get(v.sStride))), sub(get(i1), get(i0))),
              ]),
              forUp(
                o,
                get(o0),
                get(o1),
                1,
                set(n, sub(select(get(v.HW), get(i1), i32.lt_s(get(v.HW), get(i1))), get(i0))),
                if_(
                  i32.and(
                    i32.ne(i32.load(add(get(v.chan), mul(get(o), c32(CHAN_BYTES))), CHAN.prepool), c32(0)),
                    golden,
                  ),
                  [
                    call(
                      s.actPrepool,
                      get(o),
                      add(get(v.s), mul(get(o), get(v.sStride))),
                      get(n),
                      add(
                        add(get(v.act), mul(get(o), get(v.actStride))),
                        i32.div_u(mul(get(i0), get(v.OW)), mul(get(v.W), c32(2))),
                      ),
                    ),
                  ],
                  [
                    call(
                      s.act,
                      get(o),
                      add(get(v.s), mul(get(o), get(v.sStride))),
                      select(add(get(v.s), mul(add(get(o), get(OCr)), get(v.sStride))), c32(0), hasFlag(FLAG.WIDE)),
                      get(v.t32),
                      get(v.tf),
                      get(n),
                      add(add(get(v.act), mul(get(o), get(v.actStride))), get(i0)),
                    ),
                  ],
                ),
              ),
            ),
          ],
        ),
        forUp(o, get(o0), get(o1), 1, call(s.pool, get(o))),
      ];
    },
  );
}
