/**
 * `sensor`: the camera, fed from the `--camera` files (see camera.ts for scaling, orientation and
 * the two outputs of a snapshot). As on the board, every `snapshot()` returns an image over the
 * same frame buffer (display pixels and AI planes), so an older snapshot's image sees the new
 * frame. The BOOT key's interrupt for a frame listed in `--key-press` runs inside `snapshot()`,
 * after the frame is captured and before it is returned.
 *
 * Settings that change the sensor's picture (gain, exposure, white balance, brightness, …) have
 * no meaning for frames read from files: they are accepted and a warning says so once.
 */
import { int, PyError, StopRun, type BoardContext } from '../context.js';
import { SENSORS, snapshotDoneMs, type SensorName } from '../sensor-timing.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

interface CameraState {
  readonly sensor: SensorName;
  /** Board time of the first frame start after sensor.reset(). */
  start: number;
  /** set_framerate's choice (sensors that honour it). */
  fps?: number;
}

function camera(ctx: BoardContext): CameraState {
  return ctx.get('sensor.state', () => ({ sensor: ctx.sensor, start: 0 }));
}

/** Board time until the end of the first frame that starts now or later; the clock is advanced to it. */
function waitFrame(ctx: BoardContext, fw: number, fh: number): void {
  const st = camera(ctx);
  const period = SENSORS[st.sensor].framePeriodMs(fw, fh, st.fps);
  const now = ctx.clock.now();
  ctx.clock.advance(snapshotDoneMs(now, st.start, period) - now, 'camera');
}

const backend = {
  /** sensor.reset(): the sensor starts streaming now. */
  sensor_reset(ctx: BoardContext): void {
    camera(ctx).start = ctx.clock.now();
  },

  sensor_id(ctx: BoardContext): number {
    return SENSORS[camera(ctx).sensor].id;
  },

  /** set_framesize: the driver's settling delay. */
  sensor_framesize(ctx: BoardContext): void {
    const st = camera(ctx);
    ctx.clock.advance(SENSORS[st.sensor].setFramesizeMs, 'camera');
  },

  /** set_framerate (OV7740 honours 60/30/25/15; the other drivers ignore it, as MaixPy's do). */
  sensor_framerate(ctx: BoardContext, fps: unknown): boolean {
    const st = camera(ctx);
    const f = int(fps, 'framerate');
    if (st.sensor !== 'ov7740') return true;
    if (![60, 30, 25, 15].includes(f)) return false;
    st.fps = f;
    return true;
  },

  /** `fw`, `fh`: the frame size set (before windowing), which picks the sensor's readout mode. */
  sensor_snapshot(
    ctx: BoardContext,
    pxAddr: unknown,
    aiAddr: unknown,
    aiLen: unknown,
    w: unknown,
    h: unknown,
    gray: unknown,
    hm: unknown,
    vf: unknown,
    fw: unknown,
    fh: unknown,
  ): { index: number; key: boolean } {
    const width = int(w, 'width'),
      height = int(h, 'height');
    ctx.frameBoundary();
    if (ctx.maxFrames !== undefined && ctx.frames >= ctx.maxFrames)
      throw new StopRun('frames-limit', `--frames ${ctx.maxFrames} reached`);
    waitFrame(ctx, int(fw, 'frame width'), int(fh, 'frame height'));
    const frame = ctx.camera.capture(width, height, Boolean(gray), Boolean(hm), Boolean(vf));
    if (!frame) throw new StopRun('camera-exhausted', `the camera ran out of frames after ${ctx.frames}`);
    ctx.frames++;
    ctx.frameLog.push({
      index: frame.index,
      file: frame.file,
      board_ms: ctx.clock.now(),
      pc_ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    });
    const n = width * height;
    if (gray) ctx.memory.bytes(int(pxAddr, 'pixels'), n).set(frame.display as Uint8Array);
    else ctx.memory.u16(int(pxAddr, 'pixels'), n).set(frame.display as Uint16Array);
    const ai = ctx.memory.bytes(int(aiAddr, 'ai'), int(aiLen, 'ai length'));
    if (ai.length < frame.ai.length)
      throw new PyError('RuntimeError', 'kpusim host: AI buffer too small for the frame');
    ai.set(frame.ai);
    ctx.clock.advance((C.snapshotPerPixel * n) / (ctx.clock.cpuMhz * 1000), 'camera');
    ctx.frameKeyDown = ctx.keyPressFrames.has(frame.index);
    return { index: frame.index, key: ctx.frameKeyDown };
  },

  /**
   * skip_frames as MaixPy's py_sensor_skip_frames: without n, frames are read until `time` ms
   * (300 by default) have passed; with n, n frames, stopping early once `time` (if given) has passed.
   */
  sensor_skip(ctx: BoardContext, n: unknown, ms: unknown, fw: unknown, fh: unknown): void {
    const W = int(fw, 'frame width'),
      H = int(fh, 'frame height');
    ctx.frameBoundary();
    const t0 = ctx.clock.now();
    if (n === null) {
      const time = ms === null ? 300 : int(ms, 'time');
      while (ctx.clock.now() - t0 < time) waitFrame(ctx, W, H);
      return;
    }
    const frames = int(n, 'n');
    for (let i = 0; i < frames; i++) {
      if (ms !== null && ctx.clock.now() - t0 >= int(ms, 'time')) break;
      waitFrame(ctx, W, H);
    }
  },
};

export const sensorModule: MaixpyModule = { file: 'sensor', python: PY.sensor, backend };
