/**
 * The machine every format version prepares onto: its state (main buffer and AI SRAM), the
 * steps a preparer builds, the prepared model `run` walks, and the checks shared by the v3, v4
 * and v5 preparers. The interpreter (kpu/interpreter.ts) picks the preparer; the preparers
 * import from here, never from the interpreter, so no module imports its importer.
 */
import { KpuFault } from '../errors.js';
import type { Kmodel, TensorDesc } from '../kmodel-parser/model.js';
import type { KpuKernel, KpuNumerics } from './conv/index.js';
import type { LayerEvent } from './events.js';
import { kpuDownload } from './layout.js';
import { AI_SRAM_BYTES, MAIN_SRAM_BYTES } from '../chip.js';
import type { CpuNumerics } from './ops/common.js';

/**
 * `golden` (default) reproduces nncase's K210 simulator, the source of the reference goldens;
 * `board` follows the K210 firmware where the reference documents that it computes differently
 * (kpu-numerics §7.0, §10 C11): the firmware is built with `-ffp-contract=fast`, so every C
 * `a*b + c` is taken as a fused multiply-add (v3 DEQUANTIZE and CHANNELWISE_DEQUANTIZE, FC and
 * L2 sums, v4 matmul/conv sums), plus the v4 board quantize (pairs rounded to even) and
 * dequantize expressions and RISC-V's saturating float→int conversion. Unverified on silicon.
 * KPU arithmetic is the same in both modes; the nncase 0.1 activation rules are a separate
 * switch (`kpuNumerics: 'nncase01'`).
 */
export type NumericsMode = CpuNumerics;

export interface PrepareOptions {
  readonly numerics?: NumericsMode;
  /** KPU activation rules: nncase 0.2's (default, matches the goldens) or nncase 0.1's. */
  readonly kpuNumerics?: 'nncase02' | 'nncase01';
  /** KPU conv kernels: 'wasm' (WebAssembly SIMD, the default where available) or 'js'; results are identical. */
  readonly kpuKernel?: KpuKernel;
}

export interface MachineState {
  /** The runtime's main working buffer (v3 main buffer, v4 main_mem, v5 entry data pool). */
  readonly main: Uint8Array;
  /** The 2 MiB AI SRAM. */
  readonly ai: Uint8Array;
}

export interface Step {
  readonly index: number;
  readonly type: string;
  /** The trace line's label: `type=10240` (v3) or `KPUConv2D(0x2002)` (v4). */
  readonly label: string;
  readonly event: LayerEvent;
  /** Main-memory bytes this layer writes (for `--dump-layers`), with their tensor description. */
  readonly output?: {
    readonly memory: 'main' | 'ai';
    readonly address: number;
    readonly bytes: number;
    readonly desc?: TensorDesc;
  };
  exec(): void;
}

export interface LayerHook {
  (
    step: { readonly index: number; readonly type: string; readonly output?: Step['output'] },
    state: MachineState,
  ): void;
}

export interface RunOptions {
  /** Receives one line per layer in the goldens' trace.txt form. */
  readonly trace?: (line: string) => void;
  /** Called after every layer (used by `--dump-layers` and the comparison tools). */
  readonly onLayer?: LayerHook;
}

export interface RunResult {
  /** One buffer per model output: the bytes the board's runtime returns for it. */
  readonly outputs: Uint8Array[];
  readonly events: readonly LayerEvent[];
}

export interface PreparedModel {
  readonly model: Kmodel;
  readonly numerics: NumericsMode;
  readonly kpuNumerics: KpuNumerics;
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
  /**
   * Events of every layer, known before any run (v3, v4: the same objects `run` returns; v5: built from the
   * decoded bytecode, then those of the latest run).
   */
  readonly events: readonly LayerEvent[];
  run(inputs: readonly Uint8Array[], opts?: RunOptions): RunResult;
}

/** What a version-specific preparer returns: the steps and how to place inputs and read outputs. */
export interface VersionPlan {
  readonly state: MachineState;
  readonly steps: readonly Step[];
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
  placeInputs(inputs: readonly Uint8Array[]): void;
  readOutputs(): Uint8Array[];
}

export interface PrepareContext {
  readonly cpu: CpuNumerics;
  readonly kpu: KpuNumerics;
}

/** Allocates the machine state of a v3/v4 model after checking it fits the chip. */
export function allocateState(mainBytes: number): MachineState {
  if (!Number.isSafeInteger(mainBytes) || mainBytes < 0 || mainBytes > MAIN_SRAM_BYTES) {
    throw new KpuFault(
      'OUT_OF_RANGE',
      `the model asks for a main buffer of ${mainBytes} bytes; the K210 has ${MAIN_SRAM_BYTES} bytes of main SRAM`,
      { size: mainBytes },
      'prepare',
    );
  }
  return { main: new Uint8Array(mainBytes), ai: new Uint8Array(AI_SRAM_BYTES) };
}

/** Input sizes are the only thing a run can get wrong: refuse before touching the machine. */
export function checkInputs(expected: readonly TensorDesc[], given: readonly Uint8Array[]): void {
  if (given.length !== expected.length) {
    throw new KpuFault(
      'BAD_INPUT',
      `the model takes ${expected.length} input(s), ${given.length} given`,
      {},
      'prepare',
    );
  }
  expected.forEach((d, i) => {
    if (given[i].length !== d.bytes) {
      throw new KpuFault(
        'BAD_INPUT',
        `input ${i} must be ${d.bytes} bytes (${d.dtype} ${d.shape.join('×')}), got ${given[i].length}`,
        {},
        'prepare',
      );
    }
  });
}

/**
 * The bytes a step wrote, for `--dump-layers` and the comparison tools: main-memory bytes as they
 * are, an AI SRAM map with a 4-D description downloaded to dense NCHW (kpu-numerics §6.8), other AI
 * SRAM ranges as raw KPU-layout bytes.
 */
export function stepOutputBytes(
  step: Pick<Step, 'output'>,
  state: MachineState,
): { bytes: Uint8Array; layout: string } | null {
  const o = step.output;
  if (!o) return null;
  if (o.memory === 'main')
    return { bytes: state.main.slice(o.address, o.address + o.bytes), layout: 'main memory bytes' };
  const s = o.desc?.shape;
  if (s && s.length === 4) {
    const dense = new Uint8Array(s[0] * s[1] * s[2] * s[3]);
    kpuDownload(state.ai, o.address, [s[0], s[1], s[2], s[3]], dense);
    return { bytes: dense, layout: 'dense NCHW (downloaded from AI SRAM)' };
  }
  return { bytes: state.ai.slice(o.address, o.address + o.bytes), layout: 'AI SRAM bytes (KPU layout)' };
}
