/**
 * A small WebAssembly assembler: a typed expression tree that emits the binary format directly
 * (core spec 2.0 + fixed-width SIMD + bulk memory), so the conv kernels are TypeScript source in
 * this repository, built by `tsc` like everything else, and need no toolchain at install time.
 *
 * Every value expression carries its type and every operator checks its operands when the tree
 * is built, so a kernel with a type error fails here with the operator's name, long before
 * V8's validator would name a byte offset. Control flow is structured (block, loop, if) with
 * label objects; `br` depths are resolved while emitting.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const TYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** A label of a block or loop; `br` to a loop continues it, to a block leaves it. */
export class Label {
  constructor(readonly name: string) {}
}

class Writer {
  readonly bytes: number[] = [];
  readonly labels: Label[] = [];
  depth(l: Label): number {
    const i = this.labels.lastIndexOf(l);
    if (i < 0) throw new Error(`asm: branch to label ${l.name} outside its block`);
    return this.labels.length - 1 - i;
  }
}

/** A node of the tree: a value of `type`, or a statement (`type` null). */
export interface Expr {
  readonly type: ValType | null;
  emit(w: Writer): void;
}

export type Stmt = Expr;

// ---- encodings ---------------------------------------------------------------------------------

export function u32(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`asm: u32 out of range: ${n}`);
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function f64bytes(x: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return Array.from(b);
}

function name(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...u32(b.length), ...b];
}

function vec(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

// ---- building blocks -----------------------------------------------------------------------------

function node(type: ValType | null, emit: (w: Writer) => void): Expr {
  return { type, emit };
}

function check(op: string, args: readonly Expr[], types: readonly ValType[]): void {
  if (args.length !== types.length) throw new Error(`asm: ${op} takes ${types.length} operands, got ${args.length}`);
  args.forEach((a, i) => {
    if (a.type !== types[i])
      throw new Error(`asm: ${op} operand ${i} must be ${types[i]}, got ${a.type ?? 'a statement'}`);
  });
}

/** An operator: operands (checked), opcode bytes, optional immediates. */
function mk(opName: string, code: readonly number[], params: readonly ValType[], result: ValType | null) {
  return (...args: Expr[]): Expr => {
    check(opName, args, params);
    return node(result, (w) => {
      for (const a of args) a.emit(w);
      w.bytes.push(...code);
    });
  };
}

const simd = (n: number): number[] => [0xfd, ...u32(n)];

/** memarg: alignment hint 0 (always valid) and a constant byte offset. */
function memop(opName: string, code: readonly number[], result: ValType) {
  return (addr: Expr, offset = 0): Expr => {
    check(opName, [addr], ['i32']);
    return node(result, (w) => {
      addr.emit(w);
      w.bytes.push(...code, 0, ...u32(offset));
    });
  };
}

function storeop(opName: string, code: readonly number[], value: ValType) {
  return (addr: Expr, v: Expr, offset = 0): Stmt => {
    check(opName, [addr, v], ['i32', value]);
    return node(null, (w) => {
      addr.emit(w);
      v.emit(w);
      w.bytes.push(...code, 0, ...u32(offset));
    });
  };
}

// ---- locals and functions ------------------------------------------------------------------------

export class Local {
  constructor(
    readonly index: number,
    readonly type: ValType,
    readonly label: string,
  ) {}
}

export const get = (l: Local): Expr => node(l.type, (w) => w.bytes.push(0x20, ...u32(l.index)));
export function set(l: Local, v: Expr): Stmt {
  check(`local.set ${l.label}`, [v], [l.type]);
  return node(null, (w) => {
    v.emit(w);
    w.bytes.push(0x21, ...u32(l.index));
  });
}

/**
 * A module-level mutable i32 global: each instance has its own (a thread's state, such as its
 * descriptor's address).
 */
export class Global {
  constructor(
    readonly index: number,
    readonly label: string,
  ) {}
}

export const globalGet = (g: Global): Expr => node('i32', (w) => w.bytes.push(0x23, ...u32(g.index)));
export function globalSet(g: Global, v: Expr): Stmt {
  check(`global.set ${g.label}`, [v], ['i32']);
  return node(null, (w) => {
    v.emit(w);
    w.bytes.push(0x24, ...u32(g.index));
  });
}

export class Func {
  readonly params: Local[] = [];
  readonly locals: Local[] = [];
  body: Stmt[] = [];
  constructor(
    readonly index: number,
    readonly name: string,
    paramTypes: readonly [string, ValType][],
    readonly result: ValType | null,
    readonly exported: boolean,
  ) {
    paramTypes.forEach(([n, t], i) => this.params.push(new Local(i, t, n)));
  }
  param(n: string): Local {
    const p = this.params.find((x) => x.label === n);
    if (!p) throw new Error(`asm: ${this.name} has no parameter ${n}`);
    return p;
  }
  local(t: ValType, n = `l${this.locals.length}`): Local {
    const l = new Local(this.params.length + this.locals.length, t, n);
    this.locals.push(l);
    return l;
  }
}

export function call(f: Func, ...args: Expr[]): Expr {
  check(
    `call ${f.name}`,
    args,
    f.params.map((p) => p.type),
  );
  return node(f.result, (w) => {
    for (const a of args) a.emit(w);
    w.bytes.push(0x10, ...u32(f.index));
  });
}

// ---- control ---------------------------------------------------------------------------------------

function seq(w: Writer, body: readonly Stmt[]): void {
  for (const s of body) {
    if (s.type !== null) throw new Error(`asm: a ${s.type} value used as a statement (drop it)`);
    s.emit(w);
  }
}

export function block(l: Label, ...body: Stmt[]): Stmt {
  return node(null, (w) => {
    w.bytes.push(0x02, 0x40);
    w.labels.push(l);
    seq(w, body);
    w.labels.pop();
    w.bytes.push(0x0b);
  });
}

export function loop(l: Label, ...body: Stmt[]): Stmt {
  return node(null, (w) => {
    w.bytes.push(0x03, 0x40);
    w.labels.push(l);
    seq(w, body);
    w.labels.pop();
    w.bytes.push(0x0b);
  });
}

const ANON = new Label('if');
export function if_(cond: Expr, then: Stmt[], otherwise?: Stmt[]): Stmt {
  check('if', [cond], ['i32']);
  return node(null, (w) => {
    cond.emit(w);
    w.bytes.push(0x04, 0x40);
    w.labels.push(ANON);
    seq(w, then);
    if (otherwise && otherwise.length) {
      w.bytes.push(0x05);
      seq(w, otherwise);
    }
    w.labels.pop();
    w.bytes.push(0x0b);
  });
}

export const br = (l: Label): Stmt => node(null, (w) => w.bytes.push(0x0c, ...u32(w.depth(l))));
export function brIf(l: Label, cond: Expr): Stmt {
  check('br_if', [cond], ['i32']);
  return node(null, (w) => {
    cond.emit(w);
    w.bytes.push(0x0d, ...u32(w.depth(l)));
  });
}
/** cond ? a : b, both evaluated. */
export function select(a: Expr, b: Expr, cond: Expr): Expr {
  if (a.type === null || a.type !== b.type) throw new Error(`asm: select of ${a.type} and ${b.type}`);
  check('select', [cond], ['i32']);
  const t = a.type;
  return node(t, (w) => {
    a.emit(w);
    b.emit(w);
    cond.emit(w);
    // typed select (0x1c) is required for v128 operands
    if (t === 'v128') w.bytes.push(0x1c, 1, TYPE_CODE.v128);
    else w.bytes.push(0x1b);
  });
}

/**
 * `for (i = from; i < to; i += step) body` with a signed compare; `to` is evaluated before the
 * first iteration and after each one (pass a local or a constant). Loop-rotated: one test at the
 * bottom.
 */
export function forUp(i: Local, from: Expr, to: Expr, step: number | Expr, ...body: Stmt[]): Stmt {
  const exit = new Label('for.exit');
  const top = new Label('for.top');
  const inc = typeof step === 'number' ? i32.const(step) : step;
  const add = i.type === 'i32' ? i32.add : i64.add;
  const lt = i.type === 'i32' ? i32.lt_s : i64.lt_s;
  const ge = i.type === 'i32' ? i32.ge_s : i64.ge_s;
  return block(
    exit,
    set(i, from),
    brIf(exit, ge(get(i), to)),
    loop(top, ...body, set(i, add(get(i), inc)), brIf(top, lt(get(i), to))),
  );
}

// ---- numeric operators -----------------------------------------------------------------------------

const I = 'i32' as const;
const L = 'i64' as const;
const D = 'f64' as const;
const V = 'v128' as const;

export const i32 = {
  const: (n: number): Expr => {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n > 2 ** 32 - 1) throw new Error(`asm: i32.const ${n}`);
    return node(I, (w) => w.bytes.push(0x41, ...sleb(BigInt(n > 2 ** 31 - 1 ? n - 2 ** 32 : n))));
  },
  load: memop('i32.load', [0x28], I),
  load8_u: memop('i32.load8_u', [0x2d], I),
  load8_s: memop('i32.load8_s', [0x2c], I),
  load16_s: memop('i32.load16_s', [0x2e], I),
  load16_u: memop('i32.load16_u', [0x2f], I),
  store: storeop('i32.store', [0x36], I),
  store8: storeop('i32.store8', [0x3a], I),
  store16: storeop('i32.store16', [0x3b], I),
  eqz: mk('i32.eqz', [0x45], [I], I),
  eq: mk('i32.eq', [0x46], [I, I], I),
  ne: mk('i32.ne', [0x47], [I, I], I),
  lt_s: mk('i32.lt_s', [0x48], [I, I], I),
  lt_u: mk('i32.lt_u', [0x49], [I, I], I),
  gt_s: mk('i32.gt_s', [0x4a], [I, I], I),
  gt_u: mk('i32.gt_u', [0x4b], [I, I], I),
  le_s: mk('i32.le_s', [0x4c], [I, I], I),
  ge_s: mk('i32.ge_s', [0x4e], [I, I], I),
  add: mk('i32.add', [0x6a], [I, I], I),
  sub: mk('i32.sub', [0x6b], [I, I], I),
  mul: mk('i32.mul', [0x6c], [I, I], I),
  div_s: mk('i32.div_s', [0x6d], [I, I], I),
  div_u: mk('i32.div_u', [0x6e], [I, I], I),
  rem_u: mk('i32.rem_u', [0x70], [I, I], I),
  and: mk('i32.and', [0x71], [I, I], I),
  or: mk('i32.or', [0x72], [I, I], I),
  xor: mk('i32.xor', [0x73], [I, I], I),
  shl: mk('i32.shl', [0x74], [I, I], I),
  shr_s: mk('i32.shr_s', [0x75], [I, I], I),
  shr_u: mk('i32.shr_u', [0x76], [I, I], I),
  wrap_i64: mk('i32.wrap_i64', [0xa7], [L], I),
  /** Saturating: out-of-range values give the nearest i32. */
  trunc_sat_f64_s: mk('i32.trunc_sat_f64_s', [0xfc, 2], [D], I),
};

export const i64 = {
  const: (n: bigint | number): Expr => {
    const v = BigInt(n);
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new Error(`asm: i64.const ${v}`);
    return node(L, (w) => w.bytes.push(0x42, ...sleb(v)));
  },
  load: memop('i64.load', [0x29], L),
  store: storeop('i64.store', [0x37], L),
  eqz: mk('i64.eqz', [0x50], [L], I),
  eq: mk('i64.eq', [0x51], [L, L], I),
  ne: mk('i64.ne', [0x52], [L, L], I),
  lt_s: mk('i64.lt_s', [0x53], [L, L], I),
  lt_u: mk('i64.lt_u', [0x54], [L, L], I),
  gt_s: mk('i64.gt_s', [0x55], [L, L], I),
  gt_u: mk('i64.gt_u', [0x56], [L, L], I),
  le_s: mk('i64.le_s', [0x57], [L, L], I),
  ge_s: mk('i64.ge_s', [0x59], [L, L], I),
  add: mk('i64.add', [0x7c], [L, L], L),
  sub: mk('i64.sub', [0x7d], [L, L], L),
  mul: mk('i64.mul', [0x7e], [L, L], L),
  and: mk('i64.and', [0x83], [L, L], L),
  or: mk('i64.or', [0x84], [L, L], L),
  xor: mk('i64.xor', [0x85], [L, L], L),
  shl: mk('i64.shl', [0x86], [L, L], L),
  shr_s: mk('i64.shr_s', [0x87], [L, L], L),
  shr_u: mk('i64.shr_u', [0x88], [L, L], L),
  extend_i32_s: mk('i64.extend_i32_s', [0xac], [I], L),
  extend_i32_u: mk('i64.extend_i32_u', [0xad], [I], L),
  trunc_f64_s: mk('i64.trunc_f64_s', [0xb0], [D], L),
};

export const f64 = {
  const: (x: number): Expr => node(D, (w) => w.bytes.push(0x44, ...f64bytes(x))),
  load: memop('f64.load', [0x2b], D),
  store: storeop('f64.store', [0x39], D),
  floor: mk('f64.floor', [0x9c], [D], D),
  add: mk('f64.add', [0xa0], [D, D], D),
  sub: mk('f64.sub', [0xa1], [D, D], D),
  mul: mk('f64.mul', [0xa2], [D, D], D),
  lt: mk('f64.lt', [0x63], [D, D], I),
  convert_i64_s: mk('f64.convert_i64_s', [0xb9], [L], D),
  convert_i32_s: mk('f64.convert_i32_s', [0xb7], [I], D),
};

export const v128 = {
  const: (bytes: readonly number[]): Expr => {
    if (bytes.length !== 16) throw new Error('asm: v128.const needs 16 bytes');
    return node(V, (w) => w.bytes.push(...simd(12), ...bytes.map((b) => b & 255)));
  },
  load: memop('v128.load', simd(0), V),
  load8x8_u: memop('v128.load8x8_u', simd(2), V),
  load32_splat: memop('v128.load32_splat', simd(9), V),
  load64_zero: memop('v128.load64_zero', simd(0x5d), V),
  store: storeop('v128.store', simd(11), V),
  /** Stores lane `lane` of the 32-bit lanes. */
  store32_lane: (addr: Expr, v: Expr, lane: number, offset = 0): Stmt => {
    check('v128.store32_lane', [addr, v], [I, V]);
    return node(null, (w) => {
      addr.emit(w);
      v.emit(w);
      w.bytes.push(...simd(0x5a), 0, ...u32(offset), lane);
    });
  },
  store64_lane: (addr: Expr, v: Expr, lane: number, offset = 0): Stmt => {
    check('v128.store64_lane', [addr, v], [I, V]);
    return node(null, (w) => {
      addr.emit(w);
      v.emit(w);
      w.bytes.push(...simd(0x5b), 0, ...u32(offset), lane);
    });
  },
  /** Loads 8 bytes into lane `lane` of the 64-bit lanes of v. */
  load64_lane: (addr: Expr, v: Expr, lane: number, offset = 0): Expr => {
    check('v128.load64_lane', [addr, v], [I, V]);
    return node(V, (w) => {
      addr.emit(w);
      v.emit(w);
      w.bytes.push(...simd(0x57), 0, ...u32(offset), lane);
    });
  },
  and: mk('v128.and', simd(0x4e), [V, V], V),
  /** a & ~b */
  andnot: mk('v128.andnot', simd(0x4f), [V, V], V),
  or: mk('v128.or', simd(0x50), [V, V], V),
  any_true: mk('v128.any_true', simd(0x53), [V], I),
  bitselect: mk('v128.bitselect', simd(0x52), [V, V, V], V),
};

/** i8x16.shuffle: 16 lane indices into the 32 bytes of a then b. */
export function shuffle(a: Expr, b: Expr, lanes: readonly number[]): Expr {
  check('i8x16.shuffle', [a, b], [V, V]);
  if (lanes.length !== 16 || lanes.some((x) => x < 0 || x > 31)) throw new Error('asm: shuffle lanes');
  return node(V, (w) => {
    a.emit(w);
    b.emit(w);
    w.bytes.push(...simd(13), ...lanes);
  });
}

export const i8x16 = {
  splat: mk('i8x16.splat', simd(15), [I], V),
  max_u: mk('i8x16.max_u', simd(0x79), [V, V], V),
  narrow_i16x8_s: mk('i8x16.narrow_i16x8_s', simd(0x65), [V, V], V),
  narrow_i16x8_u: mk('i8x16.narrow_i16x8_u', simd(0x66), [V, V], V),
};
export const i16x8 = {
  add: mk('i16x8.add', simd(0x8e), [V, V], V),
  narrow_i32x4_s: mk('i16x8.narrow_i32x4_s', simd(0x85), [V, V], V),
  extadd_pairwise_i8x16_u: mk('i16x8.extadd_pairwise_i8x16_u', simd(0x7d), [V], V),
  extend_low_i8x16_s: mk('i16x8.extend_low_i8x16_s', simd(0x87), [V], V),
  extend_high_i8x16_s: mk('i16x8.extend_high_i8x16_s', simd(0x88), [V], V),
  extend_low_i8x16_u: mk('i16x8.extend_low_i8x16_u', simd(0x89), [V], V),
  extend_high_i8x16_u: mk('i16x8.extend_high_i8x16_u', simd(0x8a), [V], V),
};
export const i32x4 = {
  splat: mk('i32x4.splat', simd(17), [I], V),
  add: mk('i32x4.add', simd(0xae), [V, V], V),
  mul: mk('i32x4.mul', simd(0xb5), [V, V], V),
  min_s: mk('i32x4.min_s', simd(0xb6), [V, V], V),
  max_s: mk('i32x4.max_s', simd(0xb8), [V, V], V),
  dot_i16x8_s: mk('i32x4.dot_i16x8_s', simd(0xba), [V, V], V),
  extend_low_i16x8_s: mk('i32x4.extend_low_i16x8_s', simd(0xa7), [V], V),
  extend_high_i16x8_s: mk('i32x4.extend_high_i16x8_s', simd(0xa8), [V], V),
  extend_low_i16x8_u: mk('i32x4.extend_low_i16x8_u', simd(0xa9), [V], V),
  extend_high_i16x8_u: mk('i32x4.extend_high_i16x8_u', simd(0xaa), [V], V),
  trunc_sat_f64x2_s_zero: mk('i32x4.trunc_sat_f64x2_s_zero', simd(0xfc), [V], V),
  trunc_sat_f32x4_s: mk('i32x4.trunc_sat_f32x4_s', simd(0xf8), [V], V),
};
export const i64x2 = {
  sub: mk('i64x2.sub', simd(0xd1), [V, V], V),
  extract_lane: (v: Expr, lane: number): Expr => {
    check('i64x2.extract_lane', [v], [V]);
    return node(L, (w) => {
      v.emit(w);
      w.bytes.push(...simd(0x1d), lane);
    });
  },
};
/** f32x4 lanes; a splat of a float's bits is `i32x4.splat` of them (the lanes are the same 128 bits). */
export const f32x4 = {
  add: mk('f32x4.add', simd(0xe4), [V, V], V),
  sub: mk('f32x4.sub', simd(0xe5), [V, V], V),
  mul: mk('f32x4.mul', simd(0xe6), [V, V], V),
  div: mk('f32x4.div', simd(0xe7), [V, V], V),
  /** b < a ? b : a */
  pmin: mk('f32x4.pmin', simd(0xea), [V, V], V),
  /** a < b ? b : a */
  pmax: mk('f32x4.pmax', simd(0xeb), [V, V], V),
  ne: mk('f32x4.ne', simd(0x42), [V, V], V),
  nearest: mk('f32x4.nearest', simd(0x6a), [V], V),
  lt: mk('f32x4.lt', simd(0x43), [V, V], V),
  convert_i32x4_s: mk('f32x4.convert_i32x4_s', simd(0xfa), [V], V),
};
export const f64x2 = {
  splat: mk('f64x2.splat', simd(20), [D], V),
  convert_low_i32x4_s: mk('f64x2.convert_low_i32x4_s', simd(0xfe), [V], V),
  add: mk('f64x2.add', simd(0xf0), [V, V], V),
  sub: mk('f64x2.sub', simd(0xf1), [V, V], V),
  mul: mk('f64x2.mul', simd(0xf2), [V, V], V),
  min: mk('f64x2.min', simd(0xf4), [V, V], V),
  max: mk('f64x2.max', simd(0xf5), [V, V], V),
  floor: mk('f64x2.floor', simd(0x75), [V], V),
  nearest: mk('f64x2.nearest', simd(0x94), [V], V),
  lt: mk('f64x2.lt', simd(0x49), [V, V], V),
  gt: mk('f64x2.gt', simd(0x4a), [V, V], V),
  le: mk('f64x2.le', simd(0x4b), [V, V], V),
};

export const memory = {
  /** memory.copy(dst, src, n) */
  copy: (dst: Expr, src: Expr, n: Expr): Stmt => {
    check('memory.copy', [dst, src, n], [I, I, I]);
    return node(null, (w) => {
      dst.emit(w);
      src.emit(w);
      n.emit(w);
      w.bytes.push(0xfc, ...u32(10), 0, 0);
    });
  },
  /** memory.fill(dst, byte, n) */
  fill: (dst: Expr, v: Expr, n: Expr): Stmt => {
    check('memory.fill', [dst, v, n], [I, I, I]);
    return node(null, (w) => {
      dst.emit(w);
      v.emit(w);
      n.emit(w);
      w.bytes.push(0xfc, ...u32(11), 0);
    });
  },
};

// ---- the module ------------------------------------------------------------------------------------

/**
 * Where a module's memory comes from: its own (exported as `mem`), or imported as `env.mem`,
 * optionally shared between threads (a shared memory must declare its largest size).
 */
export type MemorySpec =
  | { readonly kind: 'own'; readonly pages: number }
  | { readonly kind: 'import'; readonly pages: number; readonly shared: boolean; readonly maxPages?: number };

export class Module {
  private readonly funcs: { f: Func; build: (f: Func) => Stmt[] }[] = [];
  private readonly globals: Global[] = [];

  /** Declares a mutable i32 global, 0 at instantiation. */
  global(label: string): Global {
    const g = new Global(this.globals.length, label);
    this.globals.push(g);
    return g;
  }

  /** Declares a function; `build` runs when the module is assembled, so functions may call each other in any order. */
  func(
    fname: string,
    params: readonly [string, ValType][],
    result: ValType | null,
    build: (f: Func) => Stmt[],
    exported = true,
  ): Func {
    const f = new Func(this.funcs.length, fname, params, result, exported);
    this.funcs.push({ f, build });
    return f;
  }

  byName(fname: string): Func {
    const e = this.funcs.find(({ f }) => f.name === fname);
    if (!e) throw new Error(`asm: no function ${fname}`);
    return e.f;
  }

  /**
   * The module's bytes: one memory (`pages` 64 KiB pages of its own, exported as `mem`, or as `spec`
   * says), the globals, the functions, their exports.
   */
  assemble(spec: number | MemorySpec): Uint8Array {
    const mem: MemorySpec = typeof spec === 'number' ? { kind: 'own', pages: spec } : spec;
    const types: string[] = [];
    const typeBytes: number[][] = [];
    const typeOf = (f: Func): number => {
      const b = [
        0x60,
        ...vec(f.params.map((p) => [TYPE_CODE[p.type]])),
        ...(f.result ? [1, TYPE_CODE[f.result]] : [0]),
      ];
      const key = b.join(',');
      let i = types.indexOf(key);
      if (i < 0) {
        i = types.length;
        types.push(key);
        typeBytes.push(b);
      }
      return i;
    };
    const funcTypes = this.funcs.map(({ f }) => u32(typeOf(f)));
    const bodies = this.funcs.map(({ f, build }) => {
      f.body = build(f);
      const w = new Writer();
      const stmtsOnly = f.result ? f.body.slice(0, -1) : f.body;
      seq(w, stmtsOnly);
      if (f.result) {
        const last = f.body[f.body.length - 1];
        if (!last || last.type !== f.result) throw new Error(`asm: ${f.name} must end with a ${f.result} value`);
        last.emit(w);
      }
      w.bytes.push(0x0b);
      // locals in runs of equal type
      const runs: number[][] = [];
      for (const l of f.locals) {
        const last = runs[runs.length - 1];
        if (last && last[1] === TYPE_CODE[l.type]) last[0]++;
        else runs.push([1, TYPE_CODE[l.type]]);
      }
      const body = [...vec(runs.map(([n, t]) => [...u32(n), t])), ...w.bytes];
      return [...u32(body.length), ...body];
    });
    const exports = [
      ...(mem.kind === 'own' ? [[...name('mem'), 0x02, 0]] : []),
      ...this.funcs.filter(({ f }) => f.exported).map(({ f }) => [...name(f.name), 0x00, ...u32(f.index)]),
    ];
    const section = (id: number, content: number[]): number[] => [id, ...u32(content.length), ...content];
    const bytes = [
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      ...section(1, vec(typeBytes)),
      ...(mem.kind === 'import'
        ? section(
            2,
            vec([
              [
                ...name('env'),
                ...name('mem'),
                0x02,
                ...(mem.maxPages === undefined
                  ? [0x00, ...u32(mem.pages)]
                  : [mem.shared ? 0x03 : 0x01, ...u32(mem.pages), ...u32(mem.maxPages)]),
              ],
            ]),
          )
        : []),
      ...section(3, vec(funcTypes)),
      ...(mem.kind === 'own' ? section(5, vec([[0x00, ...u32(mem.pages)]])) : []),
      ...(this.globals.length ? section(6, vec(this.globals.map(() => [0x7f, 0x01, 0x41, 0x00, 0x0b]))) : []),
      ...section(7, vec(exports)),
      ...section(10, vec(bodies)),
    ];
    return Uint8Array.from(bytes);
  }
}
