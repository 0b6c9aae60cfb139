/**
 * Every number the timing model uses, in one place, each with where it comes from.
 *
 * Source tags (reference `../shared/docs/kmodel-kpu-reference.md` §8 and §0):
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
 */

export const MIB = 1024 * 1024;

export const TIMING_PARAMS = {
  clocks: {
    /** Default KPU clock. nncase and SDK examples set PLL1 = 400 MHz, divider 1 (reference §1.3). */
    kpuMhz: 400,
    /** Default CPU clock: PLL0 800 MHz / 2 ([DS]; every SDK example). */
    cpuMhz: 400,
  },

  memory: {
    /** AI SRAM, 0x80600000–0x807FFFFF ([DS], reference §1.1). */
    aiSramBytes: 2 * MIB,
    /** General SRAM MEM0 + MEM1 ([DS], reference §1.1). */
    mainSramBytes: 6 * MIB,
    /** Feature maps are addressed in 64-byte lines (reference §6.8). */
    lineBytes: 64,
  },

  kpu: {
    /** Peak multiply-accumulates per KPU cycle: "64 KPU units of 576-bit width" read as 64 pixels × 9
     *  taps ([LAAN], reference §8.1, INFERRED). Used only for the utilisation column. */
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
     *  [NC02], [NC1] codegen; reference §1.4). Chunks hold whole output channels. */
    weightChunkBytes: { 8: 30 * 1024, 16: 60 * 1024 } as Readonly<Record<8 | 16, number>>,
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
    /** Per CPU layer: dispatch in the runtime's interpreter loop (reading the layer header, calling
     *  the kernel). ESTIMATE ≈ 1.25 µs at 400 MHz. */
    layerOverheadCycles: 500,
  },
} as const;

/** How a CPU op's work is counted: output elements, input elements, bytes moved, or MACs. */
export type CpuCostBasis = 'element' | 'input-element' | 'byte' | 'mac' | 'transfer';

export interface CpuOpCost {
  readonly basis: CpuCostBasis;
  /** CPU cycles per unit of `basis`. */
  readonly cycles: number;
  /** True when a board measurement pins the number; false for ESTIMATEs. */
  readonly calibrated: boolean;
}

const est = (basis: CpuCostBasis, cycles: number): CpuOpCost => ({ basis, cycles, calibrated: false });
const meas = (basis: CpuCostBasis, cycles: number): CpuOpCost => ({ basis, cycles, calibrated: true });

/**
 * CPU cost per op, keyed by the event's `type` (v3: SDK layer names in capitals; v4: nncase 0.2
 * opcode names). Upload ops are priced by their transfer (`basis: 'transfer'`).
 */
export const CPU_OP_COSTS: Readonly<Record<string, CpuOpCost>> = {
  // ---- v3, the SDK's ai_step (kpu.c) ----
  /** [ISS77] layer 23: 0.404 ms for 9000 elements at 400 MHz → 17.96 cycles/element. */
  DEQUANTIZE: meas('element', 18),
  /** ESTIMATE: as DEQUANTIZE plus roundf and clamp. */
  QUANTIZE: est('element', 22),
  /** ESTIMATE: as DEQUANTIZE (one more table read per channel). */
  CHANNELWISE_DEQUANTIZE: est('element', 18),
  /** ESTIMATE: a 256-byte table lookup per byte. */
  REQUANTIZE: est('element', 6),
  /** ESTIMATE by analogy with v4 quantized_binary ([ISS97], 64-bit multiply-shift per input). */
  QUANTIZED_ADD: est('element', 78),
  /** ESTIMATE: two float loads, an add, a store. */
  ADD: est('element', 10),
  GLOBAL_AVERAGE_POOL2D: est('input-element', 6),
  QUANTIZED_MAX_POOL2D: est('input-element', 8),
  AVERAGE_POOL2D: est('input-element', 10),
  L2_NORMALIZATION: est('element', 30),
  /** ESTIMATE: newlib expf dominates (≈ 100–150 cycles with the F extension). */
  SOFTMAX: est('element', 150),
  LOGISTIC: est('element', 150),
  CONCAT: est('byte', 1),
  QUANTIZED_CONCAT: est('byte', 1),
  /** ESTIMATE: float multiply-add loop, ≈ 5 cycles per MAC (load weight, load input, fmadd). */
  FULLY_CONNECTED: est('mac', 5),
  TENSORFLOW_FLATTEN: est('element', 8),
  RESIZE_NEAREST_NEIGHBOR: est('element', 10),
  QUANTIZED_RESIZE_NEAREST_NEIGHBOR: est('element', 8),
  /** Writes one byte per channel into uncached AI SRAM: priced as a CPU upload of its output. */
  K210_ADD_PADDING: est('transfer', 0),
  K210_REMOVE_PADDING: est('element', 4),
  K210_UPLOAD: est('transfer', 0),

  // ---- v4, the nncase 0.2 runtime ----
  /** [ISS95] 9.357 ms / 307200 and [ISS96] 2.341 ms / 76800 elements (assumed shapes, see
   *  downloadCpuCyclesPerByte) → 30.5 ns = 12.2 cycles/element at 400 MHz. */
  dequantize: meas('element', 12.2),
  /** ESTIMATE: the RISC-V kernel converts pairs with the hardware rounding (as dequantize + clamp). */
  quantize: est('element', 14),
  /** [ISS97]: 58.699 ms for 307200 and 15.974 ms for 76800 elements (assumed shapes) → 77.8 cycles. */
  quantized_binary: meas('element', 78),
  binary: est('element', 12),
  concat: est('byte', 1),
  memory_copy: est('byte', 1),
  pad: est('element', 4),
  transpose: est('element', 8),
  strided_slice: est('element', 4),
  /** ESTIMATE: between nearest (≈ 10) and bilinear (≈ 40). */
  resize_image: est('element', 25),
  softmax: est('element', 150),
  unary: est('element', 100),
  /** ESTIMATE: a small float stack machine interpreted per element. */
  nnil_unary_method: est('element', 120),
  table_lookup1d: est('element', 6),
  reduce: est('input-element', 6),
  reduce_window2d: est('input-element', 12),
  /** ESTIMATE: float conv/matmul loops ≈ 6 cycles per MAC; quantized ones ≈ 8 (offsets, int32). */
  conv2d: est('mac', 6),
  matmul: est('mac', 6),
  conv2d_transpose: est('mac', 6),
  quantized_conv2d: est('mac', 8),
  quantized_matmul: est('mac', 8),
  kpu_upload: est('transfer', 0),
};

/** Any op not in the table: ESTIMATE of a simple element-wise kernel. */
export const DEFAULT_CPU_OP_COST: CpuOpCost = est('element', 20);
