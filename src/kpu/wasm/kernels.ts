/**
 * The KPU conv engine as one WebAssembly SIMD module, written with ./asm.ts. It runs one batch
 * item of one layer described by a descriptor in its memory (`DESC` slots, filled by
 * src/kpu/conv/wasm.ts): `prep` gathers and packs the input, then `part` runs a range of output
 * channels, so two threads with one descriptor each (src/kpu/parallel) can share a layer. The
 * JavaScript side copies the input map, weights and tables in and the output map out. Stages, all
 * exact:
 *
 *   gather   kpu-numerics §6.8 input layout → channel planes (3×3: padded by one pixel of pad_value)
 *   pack     planes → input pairs as i16 lanes [x_a(i), x_b(i)]: channel pairs for 1×1, tap pairs
 *            (im2col, tap = c·9 + ky·3 + kx, the weights' order) for 3×3. Select pools 5/6 (stride
 *            2) pack only the pixels they keep.
 *   gemm     S = Σ x·w with i32x4.dot_i16x8_s: 4 output rows × 8 pixels per step. Inputs and
 *            weight bytes are 0..255, so a dot lane is ≤ 2·255² and a row sum ≤ 255²·9·1024 < 2^31:
 *            i32 accumulation is exact. SX (Σ x, padding included) is one more row of ones.
 *   dw       depthwise 3×3 / 1×1 on the padded planes, SX by i16 adds (≤ 9·255)
 *   tx       Tx = (arg_x·SX) >> shr_x, exact in f64
 *   act      acc → batch-norm → activation. `actScalar` is kpu-numerics §6.3/§6.4 in wrapping i64 arithmetic,
 *            i.e. exactly the reference's int64 semantics, for any parameters. `actSimd` is the fast
 *            path for channels whose window (one or two segments' formulas) src/kpu/conv/wasm.ts
 *            proved exact (see there); lanes outside the window go through `actScalar`.
 *            `actPrepool` max-pools 2×2 the accumulators first on channels proven monotone.
 *   pool     kpu-numerics §6.6 into the output map (layout copy in memory) and the dense copy
 *
 * 16-bit weights (v3) are split into byte planes as separate rows: S = S_lo + 256·S_hi.
 */
import {
  Global,
  Label,
  Module,
  block,
  br,
  brIf,
  call,
  f64,
  f64x2,
  forUp,
  get,
  globalGet,
  globalSet,
  i16x8,
  i32,
  i32x4,
  i64,
  i8x16,
  if_,
  loop,
  memory,
  select,
  set,
  shuffle,
  v128,
  type Expr,
  type Func,
  type Local,
  type MemorySpec,
  type Stmt,
} from './asm.js';

/** i32 slots of the layer descriptor at address 0 (f64 fields take two slots, 8-aligned). */
export const DESC = {
  flags: 0,
  IC: 1,
  OC: 2,
  H: 3,
  W: 4,
  HW: 5,
  HWp: 6,
  P: 7,
  CH: 9,
  OH: 10,
  OW: 11,
  /** The pool stage's pool type (0 when the select pool was done by computing only the selected pixels). */
  pool: 12,
  inBase: 13,
  inGroups: 14,
  inPitch: 15,
  inLine: 16,
  planes: 17,
  planeStride: 18,
  xp: 19,
  wt: 20,
  s: 21,
  t32: 22,
  tf: 23,
  act: 24,
  actStride: 25,
  chan: 26,
  seg: 27,
  outBase: 28,
  outGroups: 29,
  outPitch: 30,
  outLine: 31,
  dense: 32,
  padValue: 33,
  shrX: 34,
  rules: 35,
  sxRow: 36,
  sStride: 37,
  /** Pixels computed: rows sH, columns sW, sampled at stride sK from input column sDx (select pools). */
  sK: 38,
  sDx: 39,
  sH: 44,
  sW: 45,
  /** Pooled accumulators of one chunk (i32), and zeros standing in for Tx (f64 and i32) there. */
  accp: 46,
  zeros: 47,
  /** f64: arg_x·2^−shr_x */
  argXf: 40,
  /** Out: groups of 4 pixels that left the SIMD window and went through actScalar in this run. */
  fallbacks: 48,
} as const;
export const DESC_BYTES = 256;
/** Threads that may run one layer, each with its descriptor at t·DESC_BYTES (thread 0: the caller's). */
export const THREADS = 2;
/** The two threads' control block (src/kpu/parallel), after the descriptors. */
export const CTL = THREADS * DESC_BYTES;
/** The layer's data starts here. */
export const HEADER_BYTES = CTL + 128;

export const FLAG = { K3: 1, DW: 2, WIDE: 4, SX: 8, DENSE: 16 } as const;
export const RULE = { STRICT: 1, BANKER: 2, SORTED: 4, SIMD: 8 } as const;

/** Per output channel, CHAN_BYTES at chan + o·CHAN_BYTES. */
export const CHAN = {
  C: 0, // i64: (arg_w·SW >> shr_w) + arg_add·G
  mul: 8, // i64 norm_mul
  shift: 16, // i64 norm_shift
  add: 24, // i64 norm_add
  mode: 32, // i32: 0 scalar, 1 SIMD over the whole bn range, 2 SIMD with a window check
  C32: 36, // i32: C mod 2^32 (SIMD channels have |acc| < 2^31, so S + Tx + C wraps back exactly)
  m: 40, // f64 norm_mul·2^−norm_shift
  addx: 48, // f64 norm_add − x0 (bn − x0 of the SIMD segment)
  lo: 56, // f64 window: bn − x0 ≤ lo falls back
  hi: 64, // f64 window: bn − x0 > hi falls back
  ymsc: 72, // f64 y_mul·2^−shift of the SIMD segment
  bias: 80, // i32
  prepool: 84, // i32: 1 / 2 max-pool 2×2 the accumulators (max / min) before the activation (see wasm.ts)
  split: 88, // f64: bn − x0 > split takes the second segment's formula (two-piece windows)
  ymscB: 96, // f64 the second segment's y_mul·2^−shift
  biasB: 104, // i32
  two: 108, // i32: 1 for a two-piece window
  dxB: 112, // f64: x0' − x0, the second segment's start relative to the first's
} as const;
export const CHAN_BYTES = 128;
/** Activation segments: x_start, y_mul, bias, shift as i64, 32 bytes each. */
export const SEG_BYTES = 32;

// ---- shorthands --------------------------------------------------------------------------------

const c32 = i32.const;
const c64 = i64.const;
const add = i32.add;
const sub = i32.sub;
const mul = i32.mul;
/** The address of the running thread's descriptor (a global: each instance has its own), set by `prep` and `part`. */
let descAt: Global | null = null;
const desc = (): Expr => globalGet(descAt!);
const field = (slot: number): Expr => i32.load(desc(), slot * 4);
/** i16 lanes 0..3 of a and b interleaved: [a0 b0 a1 b1 a2 b2 a3 b3]. */
const IL_LO = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
/** i16 lanes 4..7 interleaved. */
const IL_HI = [8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31];
const ZERO = v128.const(new Array(16).fill(0));
/** i32 lanes 0, 2 of a then b; and 1, 3. */
const EVEN_LANES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD_LANES = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
/** The low byte of each i16 lane. */
const EVEN_BYTES = v128.const([255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 0]);
/** The high 64 bits moved to the low half (for the *_low conversions). */
const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/**
 * 1.5·2^52: y + MAGIC is y rounded to an integer, ties to even (|y| < 2^51), and its low 32 bits hold that integer mod
 * 2^32.
 */
const MAGIC = f64x2.splat(f64.const(1.5 * 2 ** 52));
/** The low 32 bits of each f64 lane of a then b: [a0 a1 b0 b1]. */
const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

/** Declares locals for the descriptor fields a function reads, loaded at its start. */
function fields(f: Func, names: Exclude<keyof typeof DESC, 'argXf'>[]): { loads: Stmt[]; v: Record<string, Local> } {
  const v: Record<string, Local> = {};
  const loads: Stmt[] = [];
  for (const n of names) {
    v[n] = f.local('i32', n);
    loads.push(set(v[n], field(DESC[n])));
  }
  return { loads, v };
}

export function buildKernelModule(mem: MemorySpec): Uint8Array {
  const m = new Module();
  descAt = m.global('desc');

  /** Copies n bytes (a row: short, many of them) without a runtime call: 16 bytes per step, then 8, 4, 1. */
  const copyRow = m.func(
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

  // ---- gather: input layout → planes --------------------------------------------------------------
  m.func('gather', [], null, (f) => {
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

  // ---- pack: 1×1 channel pairs ---------------------------------------------------------------------
  /** 8 pixels as i16 lanes: contiguous (stride 1), or every other byte of 16 (stride 2, select pools). */
  const px8 = (k: 1 | 2, addr: Expr): Expr => (k === 1 ? v128.load8x8_u(addr) : v128.and(v128.load(addr), EVEN_BYTES));
  m.func('pack1x1', [], null, (f) => {
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

  // ---- pack: 3×3 tap pairs (im2col) ----------------------------------------------------------------
  m.func('im2col', [], null, (f) => {
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

  // ---- gemm: nO rows × 8 pixels per step -------------------------------------------------------------
  const gemm: Func[] = [];
  for (let nO = 1; nO <= 4; nO++) {
    gemm.push(
      m.func(
        `gemm${nO}`,
        [
          ['x', 'i32'],
          ['P', 'i32'],
          ['xs', 'i32'],
          ['w', 'i32'],
          ['s', 'i32'],
          ['ss', 'i32'],
          ['groups', 'i32'],
        ],
        null,
        (f) => {
          const x = f.param('x');
          const P = f.param('P');
          const xs = f.param('xs');
          const w = f.param('w');
          const s = f.param('s');
          const ss = f.param('ss');
          const groups = f.param('groups');
          const g = f.local('i32', 'g');
          const p = f.local('i32', 'p');
          const xp = f.local('i32', 'xp');
          const wp = f.local('i32', 'wp');
          const x0 = f.local('v128', 'x0');
          const x1 = f.local('v128', 'x1');
          const wv = f.local('v128', 'wv');
          const acc: Local[][] = [];
          for (let o = 0; o < nO; o++) acc.push([f.local('v128', `a${o}0`), f.local('v128', `a${o}1`)]);
          const inner: Stmt[] = [set(x0, v128.load(get(xp))), set(x1, v128.load(get(xp), 16))];
          for (let o = 0; o < nO; o++) {
            inner.push(
              set(wv, v128.load32_splat(get(wp), o * 4)),
              set(acc[o][0], i32x4.add(get(acc[o][0]), i32x4.dot_i16x8_s(get(x0), get(wv)))),
              set(acc[o][1], i32x4.add(get(acc[o][1]), i32x4.dot_i16x8_s(get(x1), get(wv)))),
            );
          }
          // (unrolling this loop by two measured slower in V8: 0.65 against 0.55 ms on a 256→256 1×1 layer)
          inner.push(set(xp, add(get(xp), get(xs))), set(wp, add(get(wp), c32(nO * 4))));
          const stores: Stmt[] = [];
          for (let o = 0; o < nO; o++) {
            const at = o === 0 ? get(s) : add(get(s), mul(get(ss), c32(o)));
            stores.push(
              v128.store(at, get(acc[o][0])),
              v128.store(o === 0 ? get(s) : add(get(s), mul(get(ss), c32(o))), get(acc[o][1]), 16),
            );
          }
          return [
            forUp(
              g,
              c32(0),
              get(groups),
              1,
              ...acc.flat().map((a) => set(a, ZERO)),
              set(xp, get(x)),
              set(wp, get(w)),
              forUp(p, c32(0), get(P), 1, ...inner),
              ...stores,
              set(x, add(get(x), c32(32))),
              set(s, add(get(s), c32(32))),
            ),
          ];
        },
        false,
      ),
    );
  }

  /**
   * n weight rows from row wRow (a block start: rows lie in blocks of 4 from each plane's start)
   * for pixels [i0, i1) (multiples of 8) into the chunk's S rows from row sRow.
   */
  const gemmRows = m.func(
    'gemmRows',
    [
      ['i0', 'i32'],
      ['i1', 'i32'],
      ['wRow', 'i32'],
      ['sRow', 'i32'],
      ['n', 'i32'],
    ],
    null,
    (f) => {
      const { loads, v } = fields(f, ['P', 'HWp', 'xp', 'wt', 's', 'sStride']);
      const [i0, i1, wRow, sRow, n] = ['i0', 'i1', 'wRow', 'sRow', 'n'].map((x) => f.param(x));
      const b = f.local('i32', 'b');
      const nO = f.local('i32', 'nO');
      const groups = f.local('i32', 'groups');
      const args = (): Expr[] => [
        add(get(v.xp), mul(get(i0), c32(4))),
        get(v.P),
        mul(get(v.HWp), c32(4)),
        add(get(v.wt), mul(mul(add(get(wRow), get(b)), get(v.P)), c32(4))),
        add(get(v.s), mul(add(get(sRow), get(b)), get(v.sStride))),
        get(v.sStride),
        get(groups),
      ];
      return [
        ...loads,
        set(groups, i32.shr_u(sub(get(i1), get(i0)), c32(3))),
        forUp(
          b,
          c32(0),
          get(n),
          4,
          set(nO, sub(get(n), get(b))),
          if_(
            i32.ge_s(get(nO), c32(4)),
            [call(gemm[3], ...args())],
            [
              if_(
                i32.eq(get(nO), c32(3)),
                [call(gemm[2], ...args())],
                [if_(i32.eq(get(nO), c32(2)), [call(gemm[1], ...args())], [call(gemm[0], ...args())])],
              ),
            ],
          ),
        ),
      ];
    },
    false,
  );

  // ---- Tx ----------------------------------------------------------------------------------------------
  /** Tx = floor(arg_x·SX·2^−shr_x) for n pixels (n rounded up to 4), as f64 (tf) and mod 2^32 (t32):
   *  arg_x·SX < 2^24·2^22 and the power-of-two scaling are exact in f64, so floor is the reference's
   *  arithmetic shift; Tx + 1.5·2^52 holds Tx mod 2^32 in its low word (|Tx| < 2^51). */
  m.func(
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

  // ---- activation, scalar i64 (the reference's arithmetic) ----------------------------------------------
  const actScalar = m.func(
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

  // ---- activation, SIMD f64 (proven-exact window; outside it, actScalar) ---------------------------------
  /*
   * acc = S + Tx + C in i32 lanes (exact: the channel's |acc| < 2^31 and the sum is taken mod 2^32);
   * bn − x0 = floor(acc·norm_mul·2^−shift) + (norm_add − x0) in f64 (exact: |acc·norm_mul| < 2^52);
   * y = (bn − x0)·y_mul·2^−s (exact: |t| < 2^51; a two-piece window uses a second segment's x0,
   * y_mul, s, bias past its split), and y + 1.5·2^52 rounds it to even with the result
   * mod 2^32 in the low word (exact as an i32: the window keeps |y| < 2^30); + bias, then the
   * saturating narrows i32 → i16 → u8 are the clamp to 0..255.
   */
  const actSimd = m.func(
    'actSimd',
    [
      ['ch', 'i32'],
      ['sLo', 'i32'],
      ['t32', 'i32'],
      ['tf', 'i32'],
      ['n', 'i32'],
      ['out', 'i32'],
      ['check', 'i32'],
    ],
    null,
    (f) => {
      const [ch, sLo, t32, tf, n, out, chk] = ['ch', 'sLo', 't32', 'tf', 'n', 'out', 'check'].map((x) => f.param(x));
      const i = f.local('i32', 'i');
      const sp = f.local('i32', 'sp');
      const tp = f.local('i32', 'tp');
      const fp = f.local('i32', 'fp');
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
      const splat = (off: number): Expr => f64x2.splat(f64.load(get(ch), off));
      const outside = (bv: Local): Expr => v128.or(f64x2.le(get(bv), get(lo)), f64x2.gt(get(bv), get(hi)));
      const accOf = (off: number): Expr =>
        i32x4.add(i32x4.add(v128.load(get(sp), off), v128.load(get(tp), off)), get(Cv));
      const bnOf = (acc: Expr): Expr =>
        f64x2.add(f64x2.floor(f64x2.mul(f64x2.convert_low_i32x4_s(acc), get(M))), get(addx));
      const hiOf = (a: Local): Expr => shuffle(get(a), get(a), HIGH_TO_LOW);
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
      /** 4 pixels per step; a step with any bn outside the window goes through actScalar */
      const checked = (two: boolean): Stmt => {
        const top = new Label('top');
        const exit = new Label('exit');
        return block(
          exit,
          set(i, c32(0)),
          brIf(exit, i32.ge_s(get(i), get(n))),
          loop(
            top,
            set(a0, accOf(0)),
            set(b[0], bnOf(get(a0))),
            set(b[1], bnOf(hiOf(a0))),
            if_(
              v128.any_true(v128.or(outside(b[0]), outside(b[1]))),
              [
                i32.store(desc(), add(field(DESC.fallbacks), c32(1)), DESC.fallbacks * 4),
                call(
                  actScalar,
                  get(ch),
                  get(sp),
                  c32(0),
                  get(fp),
                  select(c32(4), sub(get(n), get(i)), i32.le_s(c32(4), sub(get(n), get(i)))),
                  get(op),
                ),
              ],
              [
                ...out4(two, b[0], b[1], mk2[0], mk2[1]),
                set(a0, i16x8.narrow_i32x4_s(get(a0), ZERO)),
                v128.store32_lane(get(op), i8x16.narrow_i16x8_u(get(a0), get(a0)), 0),
              ],
            ),
            set(sp, add(get(sp), c32(16))),
            set(tp, add(get(tp), c32(16))),
            set(fp, add(get(fp), c32(32))),
            set(op, add(get(op), c32(4))),
            set(i, add(get(i), c32(4))),
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
        set(sp, get(sLo)),
        set(tp, get(t32)),
        set(fp, get(tf)),
        set(op, get(out)),
        if_(
          i32.load(get(ch), CHAN.two),
          [if_(i32.eqz(get(chk)), [wide(true)], [checked(true)])],
          [if_(i32.eqz(get(chk)), [wide(false)], [checked(false)])],
        ),
      ];
    },
  );

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
        if_(
          i32.and(i32.ne(get(mode), c32(0)), i32.ne(i32.and(get(v.rules), c32(RULE.SIMD)), c32(0))),
          [call(actSimd, get(ch), get(sLo), get(t32), get(tf), get(n), get(out), i32.eq(get(mode), c32(2)))],
          [call(actScalar, get(ch), get(sLo), get(sHi), get(tf), get(n), get(out))],
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

  // ---- depthwise ------------------------------------------------------------------------------------------
  /** Channel o: S rows (lo at s, hi at s + HWp·4 when wide) and SX at s + 2·HWp·4, whole plane. */
  m.func('dw', [['o', 'i32']], null, (f) => {
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

  // ---- pooling and write-back ---------------------------------------------------------------------------------
  /** kpu-numerics §6.6 from the activation plane of channel o into its place in the output map (and the dense copy). */
  const poolOne = m.func('pool', [['o', 'i32']], null, (f) => {
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
      set(ow8, select(i32.and(get(v.OW), c32(-8)), c32(0), i32.eq(pt, c32(1)))),
      forUp(
        oy,
        c32(0),
        get(v.OH),
        1,
        if_(
          i32.eqz(pt),
          [call(copyRow, get(dst), add(get(src), mul(get(oy), get(v.sW))), get(v.sW))],
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

  // ---- one batch item: prep, then the output channels in parts -----------------------------------------------
  /** Gathers the input into planes and packs them (the part of a layer that every output channel reads). */
  m.func('prep', [['desc', 'i32']], null, (f) => {
    const d = f.param('desc');
    const flags = f.local('i32', 'flags');
    return [
      globalSet(descAt!, get(d)),
      set(flags, field(DESC.flags)),
      call(m.byName('gather')),
      if_(i32.eqz(i32.and(get(flags), c32(FLAG.DW))), [
        if_(i32.and(get(flags), c32(FLAG.K3)), [call(m.byName('im2col'))], [call(m.byName('pack1x1'))]),
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
      const fn = (name: string): Func => m.byName(name);
      const hasFlag = (b: number): Expr => i32.and(get(v.flags), c32(b));
      return [
        globalSet(descAt!, get(d)),
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
              call(fn('dw'), get(o)),
              if_(hasFlag(FLAG.SX), [call(fn('tx'), add(get(v.s), mul(get(v.HWp), c32(8))), get(v.HW))]),
              call(
                act,
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
              call(gemmRows, get(i0), get(i1), get(o0), get(o0), sub(get(o1), get(o0))),
              if_(hasFlag(FLAG.WIDE), [
                call(gemmRows, get(i0), get(i1), add(get(OCr), get(o0)), add(get(OCr), get(o0)), sub(get(o1), get(o0))),
              ]),
              if_(hasFlag(FLAG.SX), [
                call(
                  gemmRows,
                  get(i0),
                  get(i1),
                  select(mul(get(OCr), c32(2)), get(OCr), hasFlag(FLAG.WIDE)),
                  get(v.sxRow),
                  c32(1),
                ),
                call(fn('tx'), add(get(v.s), mul(get(v.sxRow), get(v.sStride))), sub(get(i1), get(i0))),
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
                      actPrepool,
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
                      act,
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
        forUp(o, get(o0), get(o1), 1, call(poolOne, get(o))),
      ];
    },
  );

  return m.assemble(mem);
}
