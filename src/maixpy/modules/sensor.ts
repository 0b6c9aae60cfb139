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
import { CPU_STEP_CYCLES as C, SENSOR_FRAME_MS } from '../timing.js';
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

const backend = {
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
  ): number {
    const width = int(w, 'width'),
      height = int(h, 'height');
    if (ctx.maxFrames !== undefined && ctx.frames >= ctx.maxFrames)
      throw new StopRun('frames-limit', `--frames ${ctx.maxFrames} reached`);
    const frame = ctx.camera.capture(width, height, Boolean(gray), Boolean(hm), Boolean(vf));
    if (!frame) throw new StopRun('camera-exhausted', `the camera ran out of frames after ${ctx.frames}`);
    ctx.frames++;
    ctx.frameLog.push({ index: frame.index, file: frame.file, board_ms: ctx.clock.now() });
    const n = width * height;
    if (gray) ctx.memory.bytes(int(pxAddr, 'pixels'), n).set(frame.display as Uint8Array);
    else ctx.memory.u16(int(pxAddr, 'pixels'), n).set(frame.display as Uint16Array);
    const ai = ctx.memory.bytes(int(aiAddr, 'ai'), int(aiLen, 'ai length'));
    if (ai.length < frame.ai.length)
      throw new PyError('RuntimeError', 'kpusim host: AI buffer too small for the frame');
    ai.set(frame.ai);
    ctx.clock.advance((C.snapshotPerPixel * n) / (ctx.clock.cpuMhz * 1000), 'camera');
    return frame.index * 2 + (ctx.keyPressFrames.has(frame.index) ? 1 : 0);
  },

  sensor_skip(ctx: BoardContext, n: unknown, ms: unknown): void {
    const frames = n === null ? 0 : int(n, 'n');
    const t = ms === null ? 0 : Number(ms);
    ctx.clock.advance(
      Math.max(t, frames * SENSOR_FRAME_MS, frames === 0 && ms === null ? 10 * SENSOR_FRAME_MS : 0),
      'camera',
    );
  },
};

export const sensorModule: MaixpyModule = { file: 'sensor', python: PY.sensor, backend };
