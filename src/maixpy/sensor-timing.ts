/**
 * The camera's frame timing for `kpusim maixpy`. The sensor streams frames continuously from
 * `sensor.reset()`; the DVP writes a frame to memory as it arrives. MaixPy's `snapshot()` (single
 * buffer) clears its done flag and waits: the next frame start (VSYNC) starts the DVP, and the
 * frame's finish interrupt returns the snapshot. So a snapshot taken at board time t returns at
 * the end of the first frame that starts after t: up to two frame periods later. A frame's data
 * takes the period less the vertical blanking, taken as 10% of the period for every sensor (an
 * ESTIMATE: MaixPy's register settings do not state it), so a loop that needs less than the
 * blanking between snapshots gets every frame and a slower one every other. The pixel format
 * does not change the period (the sensors send two bytes per pixel for RGB565 and for
 * GRAYSCALE, which the DVP takes from YUV). See docs/maixpy-api.md.
 *
 * Frame periods per sensor (all ESTIMATES: no board measurement is published; replace them when
 * one appears):
 * - OV2640 (MaixPy's default): MaixPy's driver reads out in its SVGA mode for frames up to
 *   800×600 and in UXGA mode above; OmniVision's product brief gives 30 fps (SVGA) and 15 fps
 *   (UXGA) at 24 MHz XVCLK, the clock MaixPy sets (CONFIG_SENSOR_FREQ = 24 MHz). The driver also
 *   waits 30 ms after each frame-size change.
 * - OV7740: 60 fps, the setting MaixPy's driver writes by default (its register table notes
 *   "60fps"), at the 22 MHz XCLK the firmware sets for this sensor; `set_framerate` picks 30/25/15.
 * - OV5640: OmniVision's brief gives 90 fps at VGA and 30 fps at 1080p; MaixPy's driver outputs
 *   up to VGA for the K210 (taken as 30 fps, the rate its register table is written for).
 * - GC0328: GalaxyCore's brief gives VGA at 30 fps.
 * - GC2145: no published figure for MaixPy's setting; taken as 30 fps.
 */

export type SensorName = 'ov2640' | 'ov7740' | 'ov5640' | 'gc0328' | 'gc2145';

export interface SensorModel {
  /** `sensor.get_id()`. */
  readonly id: number;
  /** Frame period in ms for a frame of w×h pixels (and an optional set_framerate value). */
  framePeriodMs(w: number, h: number, fps?: number): number;
  /** Board time the driver spends in `set_framesize` (ms). */
  readonly setFramesizeMs: number;
}

export const SENSORS: Readonly<Record<SensorName, SensorModel>> = {
  ov2640: {
    id: 0x2642,
    framePeriodMs: (w, h) => (w <= 800 && h <= 600 ? 1000 / 30 : 1000 / 15),
    setFramesizeMs: 30,
  },
  ov7740: { id: 0x7742, framePeriodMs: (_w, _h, fps) => 1000 / (fps ?? 60), setFramesizeMs: 0 },
  ov5640: { id: 0x5640, framePeriodMs: () => 1000 / 30, setFramesizeMs: 0 },
  gc0328: { id: 0x9d, framePeriodMs: () => 1000 / 30, setFramesizeMs: 0 },
  gc2145: { id: 0x45, framePeriodMs: () => 1000 / 30, setFramesizeMs: 0 },
};

/** The part of a frame period that is vertical blanking (ESTIMATE, see the file comment). */
export const VERTICAL_BLANKING = 0.1;

/**
 * When a snapshot requested at board time `now` returns: the end of the data of the first frame
 * that starts at or after `now` (frames start at `start + k·period`).
 */
export function snapshotDoneMs(now: number, start: number, period: number): number {
  const k = Math.max(0, Math.ceil((now - start) / period - 1e-9));
  return start + k * period + period * (1 - VERTICAL_BLANKING);
}
