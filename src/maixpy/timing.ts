/**
 * The board clock of `kpusim maixpy`: `time.ticks_ms()`, `clock.fps()` and the run summary show
 * the time the K210 would take, never the PC's.
 *
 * - KPU runs (`kpu.forward`, `kpu.run_yolo2`, CanMV `run_with_output`): the timing model's
 *   prediction for the model (`profile(events).total_ms`, src/kpu/timing: KPU layers, transfers
 *   and CPU layers), the same number `kpusim profile` prints.
 * - Everything the firmware does on the CPU around the models (region layer, `cut`, `resize`,
 *   `pix_to_ai`, `warp_affine_ai`, drawing, `lcd.display`, the camera): the per-item cycle
 *   counts below at the CPU clock. They are ESTIMATES (instruction counts of the C loops on a
 *   single-issue 400 MHz RV64 core with a hardware single-precision FPU); no board measurement
 *   of these steps has been published. Replace them when one appears.
 * - `time.sleep*()` advances the clock by the time asked.
 * - Not modelled: the MicroPython bytecode of the script itself (the interpreter loop on the
 *   board costs roughly a few µs per Python operation).
 */
import { TIMING_PARAMS } from '../kpu/timing/params.js';

/** CPU cycles per item; every entry is an ESTIMATE (see the file comment). */
export const CPU_STEP_CYCLES = {
  /** Region layer, per box (anchor × cell): three sigmoids, two expf, softmax, the box arithmetic. */
  regionPerBox: 600,
  /** Region layer NMS, per candidate box above the threshold and per comparison. */
  nmsPerCandidate: 400,
  /** `img.cut`: per copied pixel. */
  cutPerPixel: 8,
  /** `img.resize`: per output pixel, nearest-neighbour branch. */
  resizeNearestPerPixel: 20,
  /** `img.resize`: per output pixel, bilinear branch (three channels of float arithmetic). */
  resizeBilinearPerPixel: 160,
  /** `pix_to_ai` / `ai_to_pix`: per pixel (three table lookups and stores). */
  pixToAiPerPixel: 12,
  /** `warp_affine_ai`: per output pixel (two float dot products, four taps on three planes). */
  warpPerPixel: 110,
  /** `get_affine_transform`: the whole fit (a few hundred float operations and libm calls). */
  affineFit: 20_000,
  /** Drawing: per pixel written. */
  drawPerPixel: 6,
  /** `face_encode` / `face_compare` / CanMV `feature_compare`, per element. */
  featurePerElement: 12,
  /**
   * A `time.ticks_*()` call from Python (the call, the cycle counter read, boxing the int), so that a loop waiting on
   * the clock advances it.
   */
  ticksCall: 200,
  /** A GPIO read from Python (`pin.value()`), so that a loop polling the BOOT key advances the clock. */
  gpioRead: 400,
  /** Camera: the CPU's byte swap of the display buffer after capture (`reverse_u32pixel`), per pixel. */
  snapshotPerPixel: 2,
  /**
   * Point operations (`invert`, `to_grayscale`, `binary` per threshold, `difference`, `histeq`, `strech_char`), per
   * pixel.
   */
  pointPerPixel: 10,
  /**
   * Neighbourhood filters (`mean`, `median`, `morph`, `gaussian`, `laplacian`), per pixel and kernel tap (and channel).
   */
  filterPerTap: 6,
  /** `bilateral`: per pixel, kernel tap and channel (two table reads and three float operations). */
  bilateralPerTap: 20,
  /** `lens_corr`: per pixel (a square root, an arctangent and a divide in single precision). */
  lensCorrPerPixel: 120,
  /** `find_blobs`: per pixel examined (threshold test, flood fill bookkeeping). */
  blobPerPixel: 20,
  /** `find_qrcodes`: per pixel of the region (quirc's binarisation, capstone search and decoding). */
  qrPerPixel: 60,
} as const;

/** `lcd.display`: bytes per millisecond over the LCD's 8-bit SPI at MaixPy's default 15 MHz. ESTIMATE. */
export const LCD_BYTES_PER_MS = 15_000;

/** The camera's frame timing is in sensor-timing.ts. */

export function cpuMs(cycles: number, cpuMhz: number = TIMING_PARAMS.clocks.cpuMhz): number {
  return cycles / (cpuMhz * 1000);
}

/**
 * The emulated board's clock in milliseconds since boot, with the per-category totals for the
 * run summary.
 */
export class BoardClock {
  private ms = 0;
  readonly totals = { kpu: 0, cpu: 0, sleep: 0, lcd: 0, camera: 0 };

  constructor(readonly cpuMhz: number = TIMING_PARAMS.clocks.cpuMhz) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number, category: keyof BoardClock['totals']): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.ms += ms;
    this.totals[category] += ms;
  }

  cpu(cycles: number): void {
    this.advance(cpuMs(cycles, this.cpuMhz), 'cpu');
  }
}
