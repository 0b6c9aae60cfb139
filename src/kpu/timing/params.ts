/**
 * Every number the timing model uses, in one place, each with where it comes from.
 *
 * Source tags (each source named in full here):
 *   [SIPEED]  Sipeed forum, "MAIX performance and limit for AI models" (bbs.sipeed.com/t/topic/691):
 *             one 3×3 conv, 128→128 channels, 16-bit weights, KPU at 300 MHz, ten map sizes 4×4 … 256×256.
 *             (From 128×128 up, 128 such maps exceed the 2 MiB AI SRAM: the KPU's 15-bit line addresses
 *             wrap, so those rows time the hardware on overlapping data; the timing is still valid.)
 *   [ISS77]   github.com/kendryte/nncase/issues/77: per-layer times printed by the SDK's `kpu.c` with
 *             KPU_DEBUG, for Sipeed's YOLOv2 face detector (v3; same architecture and size as
 *             `maixpy_face_detect_0x300000_v3.kmodel` and `k210demo_face_detect_v3.kmodel`: 23 K210_CONV
 *             + DEQUANTIZE, 320×240 input). Clock not stated; we assume KPU = CPU = 400 MHz because the
 *             SDK face-detect demo that runs this model sets PLL1 (KPU) to 400 MHz and PLL0 to 800 MHz
 *             (CPU 400 MHz) (kendryte/kendryte-standalone-demo `face_detect/main.c`), and because with
 *             300 MHz the 1×1 layers would need < 1 cycle per 64-byte line, below the ideal rate.
 *   [ISS95] [ISS96] [ISS97]  github.com/kendryte/nncase/issues/95, /96, /97 (same reporter, nncase 0.2
 *             v4 models built from a "16-filter 3×3 conv on 240×320×3" test net; the per-node times of
 *             the nncase runtime with NNCASE_DEBUG, KPU and CPU at 400 MHz as in every nncase example).
 *             Shapes are not printed in the issues; where we use them we state the shape we assumed.
 *   [PR134]   github.com/Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB/pull/134 (sunnycase, nncase
 *             author): K210 nncase latency, RISC-V 400 MHz, 320×240: slim-320 65.6 ms, RFB-320 796.2 ms.
 *   [DS] [LAAN] chip facts: 576-bit-wide KPU (64 lines × 9 taps), 2 MiB AI SRAM, 6 MiB main SRAM.
 *
 * How the KPU constants were obtained: the structure of `estimateKpuConv` (kpu-conv.ts) was fixed first
 * from the hardware's shape (64-byte lines, channel packing, per-output-channel passes, weight chunks);
 * its eight constants were then fitted once, by least squares on relative error, jointly to the 10
 * [SIPEED] rows and the 22 KPU layers 0–21 of [ISS77] (layer 22 is left out because its time holds the
 * DMA output, which sets `downloadDmaKpuCyclesPerByte`), and rounded. No constant belongs to a model:
 * the same numbers price every layer of every model. Cross-check of the structure: fitting the
 * non-depthwise constants to [SIPEED] alone (16-bit 3×3 only) predicts the eleven 8-bit 1×1/3×3
 * layers of [ISS77] within 15 %. The calibration tests (test/timing-calibration.test.ts) print the
 * error against every measurement.
 *
 * Items marked ESTIMATE have no public measurement: they are engineering estimates (instruction
 * counts of the runtime's loop on a single-issue 400 MHz RV64 core) and are flagged as such in the
 * profile output (`calibrated: false`). Replace them when a board measurement appears.
 *
 * CPU layers are priced by op family (`CpuCostFamily`): every op type names one family, and a family's
 * cost is `fixedCycles + perUnitCycles × units` with units of one basis (output elements, input
 * elements, bytes moved or MACs). The SDK runtime (v3) and nncase 0.2's runtime (v4, v5) have
 * separate families because they are different C code. Which families have a board measurement:
 * `sdk-dequantize` ([ISS77]), `nncase-dequantize` ([ISS95]+[ISS96], both sizes: fixed and per element),
 * `nncase-quantized-binary` ([ISS97]); every other family is an ESTIMATE. The published whole-model
 * times of the ultraface models ([PR134], nncase #79, Linzaer #126) were NOT used to set any number
 * here: `npm run bench` reports the model's error on them as an out-of-sample check.
 *
 * Every number the timing model uses is a named parameter (`TIMING_PARAMETERS`, below) so that a
 * timing file measured on a user's board (`kpusim board calibrate`, timing-file.ts) can replace it.
 */
import { isNotApplicable, type NotApplicable } from '../../ops/not-applicable.js';
import { V3_OPS } from '../../ops/v3/index.js';
import { V4_OPS } from '../../ops/v4/index.js';

export const MIB = 1024 * 1024;

/** How a CPU family's work is counted: output elements, input elements, bytes moved, MACs, or only by its transfers. */
export type CpuCostBasis = 'element' | 'input-element' | 'byte' | 'mac' | 'transfer';

/**
 * The CPU op families. An op definition names its family; the family's two parameters (fixed
 * cycles per op, cycles per unit of its basis) are what a calibration fits.
 */
export const CPU_COST_FAMILIES = [
  // ---- the Kendryte SDK runtime (kmodel v3, `ai_step` in kpu.c) ----
  'sdk-dequantize',
  'sdk-quantize',
  'sdk-requantize',
  'sdk-quantized-add',
  'sdk-float-elementwise',
  'sdk-transcendental',
  'sdk-l2-normalize',
  'sdk-copy',
  'sdk-layout',
  'sdk-pool',
  'sdk-fully-connected',
  'sdk-upload',
  // ---- nncase 0.2's runtime (kmodel v4; v5 stack-VM ops until they have their own) ----
  'nncase-dequantize',
  'nncase-quantize',
  'nncase-quantized-binary',
  'nncase-float-elementwise',
  'nncase-unary',
  'nncase-softmax',
  'nncase-copy',
  'nncase-layout',
  'nncase-resize',
  'nncase-table',
  'nncase-reduce',
  'nncase-float-mac',
  'nncase-quantized-mac',
  'nncase-upload',
  /** Any op type without a family: a simple element-wise kernel. */
  'other',
] as const;

export type CpuCostFamily = (typeof CPU_COST_FAMILIES)[number];

/** The fittable numbers of one family. */
export interface FamilyCost {
  /**
   * CPU cycles per op: the runtime's dispatch (reading the layer header, calling the kernel) and the kernel's set-up.
   */
  readonly fixedCycles: number;
  /** CPU cycles per unit of the family's basis. */
  readonly perUnitCycles: number;
}

/**
 * What does not change with a calibration: the basis, whether a board measurement pins the defaults, and where they
 * come from.
 */
export interface FamilySpec {
  readonly basis: CpuCostBasis;
  readonly calibrated: boolean;
  readonly source: string;
}

/** Per CPU layer dispatch, the default of every family's `fixedCycles`: ESTIMATE ≈ 1.25 µs at 400 MHz. */
const DISPATCH = 500;

const est = (basis: CpuCostBasis, source: string): FamilySpec => ({ basis, calibrated: false, source });
const meas = (basis: CpuCostBasis, source: string): FamilySpec => ({ basis, calibrated: true, source });

export const CPU_FAMILY_SPECS: Readonly<Record<CpuCostFamily, FamilySpec>> = {
  'sdk-dequantize': meas(
    'element',
    '[ISS77] layer 23: 0.404 ms for 9000 elements at 400 MHz = 161600 cycles, less the dispatch ESTIMATE → 17.9/element',
  ),
  'sdk-quantize': est('element', 'ESTIMATE: as sdk-dequantize plus roundf and a clamp'),
  'sdk-requantize': est('element', 'ESTIMATE: one 256-byte table lookup per byte'),
  'sdk-quantized-add': est('element', 'ESTIMATE by analogy with nncase-quantized-binary ([ISS97])'),
  'sdk-float-elementwise': est('element', 'ESTIMATE: two float loads, an add, a store'),
  'sdk-transcendental': est('element', 'ESTIMATE: newlib expf dominates (≈ 100–150 cycles with the F extension)'),
  'sdk-l2-normalize': est('element', 'ESTIMATE: a square-accumulate pass, then a multiply pass, per element'),
  'sdk-copy': est('byte', 'ESTIMATE: memcpy of cached main SRAM, ≈ 1 cycle per byte'),
  'sdk-layout': est(
    'element',
    'ESTIMATE: a copy with index arithmetic per element (flatten, nearest resize, remove padding)',
  ),
  'sdk-pool': est('input-element', 'ESTIMATE: a load, a compare or add, loop control per input element'),
  'sdk-fully-connected': est('mac', 'ESTIMATE: float multiply-add loop ≈ 5 cycles per MAC (two loads, fmadd)'),
  'sdk-upload': est('transfer', 'priced by its transfer (transfers.*); fixed: the dispatch ESTIMATE'),
  'nncase-dequantize': meas(
    'element',
    '[ISS95] 9.357 ms / 307200 and [ISS96] 2.341 ms / 76800 elements (assumed shapes) at 400 MHz: the line through both points → 12.18/element + 880 fixed',
  ),
  'nncase-quantize': est(
    'element',
    'ESTIMATE: the RISC-V kernel converts with the hardware rounding (as dequantize + clamp)',
  ),
  'nncase-quantized-binary': meas(
    'element',
    '[ISS97] 58.699 ms for 307200 and 15.974 ms for 76800 elements (assumed shapes) → ≈ 78 cycles/element',
  ),
  'nncase-float-elementwise': est('element', 'ESTIMATE: float binary op with broadcasting index arithmetic'),
  'nncase-unary': est(
    'element',
    'ESTIMATE: a libm call per element (expf, logf, …); nnil a small interpreted stack machine',
  ),
  'nncase-softmax': est('element', 'ESTIMATE: expf per element plus the max and sum passes'),
  'nncase-copy': est('byte', 'ESTIMATE: memcpy of cached main SRAM, ≈ 1 cycle per byte'),
  'nncase-layout': est(
    'element',
    'ESTIMATE: transpose, pad, strided slice: a copy with 4-D index arithmetic per element',
  ),
  'nncase-resize': est('element', 'ESTIMATE: between nearest (≈ 10) and bilinear (≈ 40) per output element'),
  'nncase-table': est('element', 'ESTIMATE: one table lookup per byte'),
  'nncase-reduce': est('input-element', 'ESTIMATE: a float load and add or max per input element'),
  'nncase-float-mac': est('mac', 'ESTIMATE: float conv/matmul loops ≈ 6 cycles per MAC'),
  'nncase-quantized-mac': est('mac', 'ESTIMATE: quantized conv/matmul ≈ 8 cycles per MAC (offsets, int32 accumulate)'),
  'nncase-upload': est('transfer', 'priced by its transfer (transfers.*); fixed: the dispatch ESTIMATE'),
  other: est('element', 'ESTIMATE of a simple element-wise kernel for an op type without a family'),
};

/** Op name → cost family of the definitions that name one. */
function familiesOf(defs: readonly { name: string; cost?: CpuCostFamily | NotApplicable }[]) {
  return Object.fromEntries(
    defs.flatMap((d) => (d.cost && !isNotApplicable(d.cost) ? [[d.name, d.cost] as const] : [])),
  );
}

/**
 * The family of every CPU op type the interpreter emits (v3: the SDK's layer names in capitals;
 * v4: nncase 0.2 opcode names). A type not listed is priced as `other`.
 */
export const CPU_OP_FAMILY: Readonly<Record<string, CpuCostFamily>> = {
  // ---- v3, the SDK's ai_step (kpu.c): each layer type's definition names its family (src/ops/v3/) ----
  ...familiesOf(Object.values(V3_OPS)),

  // ---- v4, the nncase 0.2 runtime: each op's definition names its family (src/ops/v4/) ----
  ...familiesOf(Object.values(V4_OPS)),
};

const fam = (perUnitCycles: number, fixedCycles = DISPATCH): FamilyCost => ({ fixedCycles, perUnitCycles });

/** Every parameter of the timing model. `TIMING_PARAMS` holds the built-in values; a timing file holds a board's. */
export interface TimingParams {
  readonly clocks: { readonly kpuMhz: number; readonly cpuMhz: number };
  readonly memory: { readonly aiSramBytes: number; readonly mainSramBytes: number; readonly lineBytes: number };
  readonly kpu: {
    readonly peakMacsPerCycle: number;
    readonly cyclesPerLine: number;
    readonly cyclesPerOutputChannel: number;
    readonly weightCyclesPerByte: number;
    readonly weightChunkReloadCycles: number;
    readonly weightChunkBytes: Readonly<Record<8 | 16, number>>;
    readonly poolCyclesPerRowLine: number;
    readonly depthwiseCyclesPerLine: number;
    readonly depthwiseCyclesPerChannel: number;
    readonly launchCpuCycles: number;
  };
  readonly transfers: {
    readonly uploadDmaCpuCyclesPerByte: number;
    readonly uploadCpuCyclesPerByte: number;
    readonly uploadCpuDenseCyclesPerByte: number;
    readonly downloadDmaKpuCyclesPerByte: number;
    readonly downloadCpuCyclesPerByte: number;
    readonly downloadCpuDenseCyclesPerByte: number;
  };
  readonly cpu: {
    /** CPU cycles per model run outside every layer: the runtime's set-up (`kpu_run_kmodel`, nncase's
     *  interpreter entry) and the firmware's `forward` call around it. */
    readonly runOverheadCycles: number;
    readonly families: Readonly<Record<CpuCostFamily, FamilyCost>>;
  };
}

export const TIMING_PARAMS: TimingParams = {
  clocks: {
    /** Default KPU clock. nncase and SDK examples set PLL1 = 400 MHz, divider 1 (kpu-numerics §1.3). */
    kpuMhz: 400,
    /** Default CPU clock: PLL0 800 MHz / 2 ([DS]; every SDK example). */
    cpuMhz: 400,
  },

  memory: {
    /** AI SRAM, 0x80600000–0x807FFFFF ([DS], kpu-numerics §1.1). */
    aiSramBytes: 2 * MIB,
    /** General SRAM MEM0 + MEM1 ([DS], kpu-numerics §1.1). */
    mainSramBytes: 6 * MIB,
    /** Feature maps are addressed in 64-byte lines (kpu-numerics §6.8). */
    lineBytes: 64,
  },

  kpu: {
    /** Peak multiply-accumulates per KPU cycle: "64 KPU units of 576-bit width" read as 64 pixels × 9
     *  taps ([LAAN], kpu-numerics §8, INFERRED). Used only for the utilisation column. */
    peakMacsPerCycle: 576,
    /** Cycles per 64-byte input line per output channel (normal conv, 1×1 and 3×3 alike): the KPU
     *  consumes one line of one packed channel group per cycle. Fitted ([SIPEED]+[ISS77]): 1.06; the
     *  [SIPEED] 256×256 row alone gives 1.03. */
    cyclesPerLine: 1.06,
    /** Cycles per output channel that do not overlap the line stream (setting up a pass over the
     *  input: weight fetch latency, pipeline fill). Fitted ([SIPEED]+[ISS77]). It is what makes
     *  small maps slow: [SIPEED] 4×4 runs at 23 MAC/cycle. */
    cyclesPerOutputChannel: 190,
    /** Cycles per weight byte of one output channel, overlapped with that channel's line stream
     *  (cost = max(lines·cyclesPerLine, bytes·this)): ≈ 7 bytes per cycle from main SRAM. Fitted; only
     *  [SIPEED]'s small maps (16-bit, 2304 bytes per channel) depend on it. */
    weightCyclesPerByte: 0.14,
    /** Cycles lost each time the weight buffer is refilled (every chunk after the first). Fitted;
     *  [ISS77] layers 12 (2 chunks) and 14–20 (3 chunks) and [SIPEED] (5 chunks) pin it. */
    weightChunkReloadCycles: 8500,
    /** Largest weight chunk the compilers emit: 30 KiB for 8-bit weights, 60 KiB for 16-bit ([NC01],
     *  [NC02], [NC1] codegen; kpu-numerics §1.4). Chunks hold whole output channels. */
    weightChunkBytes: { 8: 30 * 1024, 16: 60 * 1024 },
    /** Extra cycles per (output channel × input row line) when the pooling unit is on (pool_type ≠ 0).
     *  Fitted on the four pooled layers of [ISS77] (0, 2, 6, 10); [SIPEED] has no pooling. Assumed
     *  the same for every pool type, including the stride-2 "select" types 5/6 (INFERRED). */
    poolCyclesPerRowLine: 0.77,
    /** Depthwise: cycles per 64-byte line of the input (each packed channel group is streamed once).
     *  Fitted on the 11 depthwise layers of [ISS77] (all 3×3, 8-bit); no other source. */
    depthwiseCyclesPerLine: 2.29,
    /** Depthwise: cycles per channel. Fitted on [ISS77] as above. */
    depthwiseCyclesPerChannel: 12.6,
    /** Time per KPU layer launch that is not KPU work: the CPU writing the 12 register words, the
     *  calc-done interrupt and the runtime's step to the next layer. Counted at the CPU clock.
     *  Fitted: 6.6 µs at 400 MHz ([ISS77] smallest layers 0.016–0.026 ms; [SIPEED] intercept). */
    launchCpuCycles: 2640,
  },

  transfers: {
    /** DMA from main SRAM to AI SRAM (W % 64 == 0 inputs), CPU-clock cycles per byte: [ISS95] and
     *  [ISS97] "DMA upload took 328/329 us" for the 3×240×320 = 230400-byte input → 0.571. */
    uploadDmaCpuCyclesPerByte: 0.571,
    /** CPU copy into the padded KPU layout (v3 when W % 64 ≠ 0, v4 `kpu_upload`), per byte, writing
     *  uncached AI SRAM: [ISS97] "KPUUpload: 20.367ms", assuming the 16×120×160 = 307200-byte map
     *  the surrounding layers of that net produce (26.5 cycles/byte). INFERRED shape. */
    uploadCpuCyclesPerByte: 26.5,
    /** v4 `kpu_upload` when W % 64 == 0: a plain copy into uncached AI SRAM. ESTIMATE: the converted
     *  path's cost per 8-byte word. */
    uploadCpuDenseCyclesPerByte: 26.5 / 8,
    /** v3 conv output to main memory through the KPU output FIFO and a DMA channel, in KPU cycles
     *  per byte: [ISS77] layer 22 measures 0.326 ms where the conv alone is 0.174 ms (model), for
     *  9000 bytes → 6.8. Single measurement. */
    downloadDmaKpuCyclesPerByte: 6.8,
    /** v4/v5 CPU download with layout conversion (padded AI SRAM → dense NCHW, uncached byte reads),
     *  CPU cycles per byte. [ISS96]: last conv 6.690 ms vs 0.099 ms for the same conv elsewhere;
     *  [ISS95]: 26.563 vs 0.268 ms. Assuming the outputs are 16×60×80 = 76800 and 16×120×160 = 307200
     *  bytes (the net's 16-filter maps after one stride 2; the dequantize times of the same issues,
     *  2.341 and 9.357 ms, are in exactly the 1:4 ratio this implies) → 85.7 ns/byte = 34.3 cycles. */
    downloadCpuCyclesPerByte: 34.3,
    /** v4/v5 download when W % 64 == 0: a plain `std::copy` of uncached AI SRAM (no conversion).
     *  ESTIMATE: the converted path's cost per 8-byte word (copies move words, not bytes). */
    downloadCpuDenseCyclesPerByte: 34.3 / 8,
  },

  cpu: {
    /** ESTIMATE ≈ 10 µs at 400 MHz: argument checks, the DMA or interrupt set-up and the wait loop of
     *  one `forward`. No public measurement separates it from the layers; a board calibration fits it. */
    runOverheadCycles: 4000,
    families: {
      'sdk-dequantize': fam(17.9),
      'sdk-quantize': fam(22),
      'sdk-requantize': fam(6),
      'sdk-quantized-add': fam(78),
      'sdk-float-elementwise': fam(10),
      'sdk-transcendental': fam(150),
      'sdk-l2-normalize': fam(30),
      'sdk-copy': fam(1),
      'sdk-layout': fam(8),
      'sdk-pool': fam(8),
      'sdk-fully-connected': fam(5),
      'sdk-upload': fam(0),
      'nncase-dequantize': fam(12.18, 880),
      'nncase-quantize': fam(14),
      'nncase-quantized-binary': fam(78),
      'nncase-float-elementwise': fam(12),
      'nncase-unary': fam(110),
      'nncase-softmax': fam(150),
      'nncase-copy': fam(1),
      'nncase-layout': fam(6),
      'nncase-resize': fam(25),
      'nncase-table': fam(6),
      'nncase-reduce': fam(8),
      'nncase-float-mac': fam(6),
      'nncase-quantized-mac': fam(8),
      'nncase-upload': fam(0),
      other: fam(20),
    },
  },
};

/** The family of a CPU op type (`other` for a type without one). */
export function cpuOpFamily(type: string): { family: CpuCostFamily; known: boolean } {
  const f = Object.prototype.hasOwnProperty.call(CPU_OP_FAMILY, type) ? CPU_OP_FAMILY[type] : undefined;
  return f ? { family: f, known: true } : { family: 'other', known: false };
}

// ---- the parameters as a flat list: what a timing file stores and a calibration fits ----

/** One fittable number: its dotted name, where it lives, its unit and the bounds a fit keeps it in. */
export interface TimingParameter {
  readonly name: string;
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  readonly get: (p: TimingParams) => number;
}

const kpuKeys = [
  ['cyclesPerLine', 'KPU cycles per line', 0.1, 20],
  ['cyclesPerOutputChannel', 'KPU cycles per output channel', 0, 20_000],
  ['weightCyclesPerByte', 'KPU cycles per weight byte', 0, 10],
  ['weightChunkReloadCycles', 'KPU cycles per weight chunk', 0, 1_000_000],
  ['poolCyclesPerRowLine', 'KPU cycles per output channel × row line', 0, 50],
  ['depthwiseCyclesPerLine', 'KPU cycles per line', 0, 100],
  ['depthwiseCyclesPerChannel', 'KPU cycles per channel', 0, 10_000],
  ['launchCpuCycles', 'CPU cycles per KPU layer', 0, 1_000_000],
] as const;
const transferKeys = [
  ['uploadDmaCpuCyclesPerByte', 'CPU cycles per byte'],
  ['uploadCpuCyclesPerByte', 'CPU cycles per byte'],
  ['uploadCpuDenseCyclesPerByte', 'CPU cycles per byte'],
  ['downloadDmaKpuCyclesPerByte', 'KPU cycles per byte'],
  ['downloadCpuCyclesPerByte', 'CPU cycles per byte'],
  ['downloadCpuDenseCyclesPerByte', 'CPU cycles per byte'],
] as const;

const BASIS_UNIT: Record<CpuCostBasis, string> = {
  element: 'CPU cycles per output element',
  'input-element': 'CPU cycles per input element',
  byte: 'CPU cycles per byte',
  mac: 'CPU cycles per MAC',
  transfer: 'CPU cycles per unit (unused: priced by its transfer)',
};

/** Every fittable parameter (clocks, memory sizes, chunk sizes and the peak rate are facts, not fitted). */
export const TIMING_PARAMETERS: readonly TimingParameter[] = [
  ...kpuKeys.map(([k, unit, min, max]) => ({ name: `kpu.${k}`, unit, min, max, get: (p: TimingParams) => p.kpu[k] })),
  ...transferKeys.map(([k, unit]) => ({
    name: `transfers.${k}`,
    unit,
    min: 0,
    max: 1000,
    get: (p: TimingParams) => p.transfers[k],
  })),
  {
    name: 'cpu.runOverheadCycles',
    unit: 'CPU cycles per run',
    min: 0,
    max: 100_000_000,
    get: (p: TimingParams) => p.cpu.runOverheadCycles,
  },
  ...CPU_COST_FAMILIES.flatMap((f) => [
    {
      name: `cpu.${f}.fixedCycles`,
      unit: 'CPU cycles per op',
      min: 0,
      max: 100_000_000,
      get: (p: TimingParams) => p.cpu.families[f].fixedCycles,
    },
    {
      name: `cpu.${f}.perUnitCycles`,
      unit: BASIS_UNIT[CPU_FAMILY_SPECS[f].basis],
      min: 0,
      max: 1_000_000,
      get: (p: TimingParams) => p.cpu.families[f].perUnitCycles,
    },
  ]),
];

const BY_NAME = new Map(TIMING_PARAMETERS.map((t) => [t.name, t]));

export function timingParameter(name: string): TimingParameter | undefined {
  return BY_NAME.get(name);
}

/** Every fittable parameter's value, by name. */
export function parameterValues(p: TimingParams): Record<string, number> {
  return Object.fromEntries(TIMING_PARAMETERS.map((t) => [t.name, t.get(p)]));
}

/**
 * A copy of `p` with some parameters (by name) and optionally the clocks replaced. Unknown names throw a RangeError.
 */
export function withParameters(
  p: TimingParams,
  values: Readonly<Record<string, number>>,
  clocks?: { kpuMhz?: number; cpuMhz?: number },
): TimingParams {
  const kpu: Record<string, unknown> = { ...p.kpu };
  const transfers: Record<string, number> = { ...p.transfers };
  let runOverheadCycles = p.cpu.runOverheadCycles;
  const families: Record<string, FamilyCost> = { ...p.cpu.families };
  for (const [name, v] of Object.entries(values)) {
    const t = BY_NAME.get(name);
    if (!t) throw new RangeError(`unknown timing parameter "${name}"`);
    if (!Number.isFinite(v)) throw new RangeError(`timing parameter "${name}" must be a finite number, got ${v}`);
    const [group, a, b] = name.split('.');
    if (group === 'kpu') kpu[a] = v;
    else if (group === 'transfers') transfers[a] = v;
    else if (a === 'runOverheadCycles') runOverheadCycles = v;
    else families[a] = { ...families[a], [b]: v };
  }
  return {
    clocks: { kpuMhz: clocks?.kpuMhz ?? p.clocks.kpuMhz, cpuMhz: clocks?.cpuMhz ?? p.clocks.cpuMhz },
    memory: p.memory,
    kpu: kpu as TimingParams['kpu'],
    transfers: transfers as TimingParams['transfers'],
    cpu: { runOverheadCycles, families: families as Record<CpuCostFamily, FamilyCost> },
  };
}
