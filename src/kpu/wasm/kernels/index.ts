/**
 * The KPU conv engine as one WebAssembly SIMD module, written with ../asm.ts. It runs one batch
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
 *            proved exact (see there); lanes in the table's constant bottom or top take that value
 *            (8 pixels a step where the window reaches down to the bottom, as on ReLU's tables, and
 *            no lane is past the first piece or the top; else 4), other groups of 4 lanes outside
 *            the window take `actExact`'s arithmetic (the golden rules in branch-free f64 on
 *            channels prepare.ts proved exact) in f64x2 lanes, inline; exact
 *            channels without a window run it through `actExactSimd`, and the scalar `actExact`
 *            keeps remainders and channels with 16-bit weights.
 *            `actPrepool` max-pools 2×2 the accumulators first on channels proven monotone.
 *   pool     kpu-numerics §6.6 into the output map (layout copy in memory) and the dense copy
 *
 * 16-bit weights (v3) are split into byte planes as separate rows: S = S_lo + 256·S_hi.
 */
import { Module, type MemorySpec } from '../asm.js';
import { addActExact, addActExactSimd } from './act-exact.js';
import { addActScalar } from './act-scalar.js';
import { addActSimd } from './act-simd.js';
import { addAct } from './act.js';
import { kernelContext } from './context.js';
import { addCopyRow } from './copy-row.js';
import { addDw } from './dw.js';
import { addEntries } from './entry.js';
import { addGather } from './gather.js';
import { addGemm } from './gemm.js';
import { addPack } from './pack.js';
import { addPool } from './pool.js';
import { addTx } from './tx.js';

/** The module's bytes. The stages are declared in this order (a function's index is its place in it). */
export function buildKernelModule(mem: MemorySpec): Uint8Array {
  const cx = kernelContext(new Module());
  const copyRow = addCopyRow(cx);
  const gather = addGather(cx, copyRow);
  const { pack1x1, im2col } = addPack(cx);
  const gemmRows = addGemm(cx);
  const tx = addTx(cx);
  const actScalar = addActScalar(cx);
  const actExact = addActExact(cx);
  const actSimd = addActSimd(cx);
  const actExactSimd = addActExactSimd(cx, actExact);
  const { act, actPrepool } = addAct(cx, actScalar, actSimd, actExactSimd);
  const dw = addDw(cx);
  const pool = addPool(cx, copyRow);
  addEntries(cx, { gather, pack1x1, im2col, gemmRows, tx, act, actPrepool, dw, pool });
  return cx.m.assemble(mem);
}
