/**
 * Camera timing: a snapshot waits for the end of the first sensor frame that starts after it is
 * called (MaixPy's single-buffer snapshot). With the model of src/maixpy/sensor-timing.ts —
 * OV2640 at 30 fps up to 800×600, frames starting at sensor.reset(), a frame's data taking 90% of
 * the period — the times below are worked out by hand: T = 33 333.3 µs, data end 0.9·T = 30 000 µs.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runScript } from './fixtures/maixpy/helpers.js';

const PHOTO = join(REPO, 'examples/images/grace_hopper.jpg');
const T = 1e6 / 30;

function ticks(lines: string[]): number[] {
  return lines.map(Number);
}

describe('camera timing', () => {
  it('a tight loop gets every frame; a loop slower than the blanking gets every other frame', async () => {
    const r = await runScript(
      {
        source: `
import sensor, time
sensor.reset()
for i in range(3):
    sensor.snapshot()
    print(time.ticks_us())
for i in range(3):
    sensor.snapshot()
    print(time.ticks_us())
    time.sleep_ms(10)
`,
      },
      { camera: Array(6).fill(PHOTO) },
    );
    expect(r.error).toBeUndefined();
    const t = ticks(r.lines);
    // the first frame starts at reset (t = 0): its data ends at 0.9·T, plus the CPU byte swap of the frame
    const swap = t[0] - 0.9 * T;
    expect(swap).toBeGreaterThanOrEqual(0);
    expect(swap).toBeLessThan(1000);
    expect(Math.abs(t[1] - t[0] - T)).toBeLessThanOrEqual(2);
    expect(Math.abs(t[2] - t[1] - T)).toBeLessThanOrEqual(2);
    // 10 ms of work after a frame's data ends (0.1·T = 3.3 ms of blanking left) misses the next start
    expect(Math.abs(t[4] - t[3] - 2 * T)).toBeLessThanOrEqual(2);
    expect(Math.abs(t[5] - t[4] - 2 * T)).toBeLessThanOrEqual(2);
  });

  it("clock.fps() of a camera-to-LCD loop is the sensor's rate halved, not thousands", async () => {
    const r = await runScript(
      {
        source: `
import sensor, lcd, time
lcd.init()
sensor.reset()
sensor.set_pixformat(sensor.RGB565)
sensor.set_framesize(sensor.QVGA)
clock = time.clock()
while True:
    clock.tick()
    img = sensor.snapshot()
    lcd.display(img)
    print(clock.fps())
`,
      },
      { camera: Array(5).fill(PHOTO) },
    );
    const fps = Number(r.lines[r.lines.length - 1]);
    expect(fps).toBeGreaterThan(14);
    expect(fps).toBeLessThan(17);
  });

  it('skip_frames: 300 ms by default, n frames, or until time; OV7740 honours set_framerate', async () => {
    const r = await runScript(
      {
        source: `
import sensor, time
sensor.reset()
t0 = time.ticks_us(); sensor.skip_frames(); print(time.ticks_us() - t0)
t0 = time.ticks_us(); sensor.skip_frames(3); print(time.ticks_us() - t0)
print(sensor.get_id() == sensor.OV2640)
`,
      },
      { camera: [PHOTO] },
    );
    const [def, three] = ticks(r.lines.slice(0, 2));
    // frames end at 0.9T, 1.9T, …: the first end at or after 300 ms is 9.9·T = 330 000 µs
    expect(Math.abs(def - 9.9 * T)).toBeLessThanOrEqual(2);
    // from 9.9·T: the next starts are 10T, 11T, 12T, data ends 10.9T, 11.9T, 12.9T
    expect(Math.abs(three - 3 * T)).toBeLessThanOrEqual(2);
    expect(r.lines[2]).toBe('True');

    const r7 = await runScript(
      {
        source: `
import sensor, time
sensor.reset()
print(sensor.set_framerate(30), hex(sensor.get_id()))
sensor.snapshot(); t0 = time.ticks_us(); sensor.snapshot(); print(time.ticks_us() - t0)
`,
      },
      { camera: [PHOTO, PHOTO], sensor: 'ov7740' },
    );
    expect(r7.lines[0]).toBe('True 0x7742');
    expect(Math.abs(Number(r7.lines[1]) - 1e6 / 30)).toBeLessThanOrEqual(2);
  });
});
