/**
 * The LCD panel is a framebuffer: every PNG shows the panel as it is when a frame is complete
 * (text drawn after `display` included), and `rotation()` changes only the controller's address
 * mode (MADCTL 0xA0 for rotation 0, 0x00 for rotation 1, MaixPy's get_dir_by_rotation), so the
 * pixels stay: under 0xA0 logical (x, y) is panel column y, row 319 − x; under 0x00 it is column
 * x, row y; a pixel drawn at (x0, y0) in rotation 0 therefore reads at (y0, 319 − x0) in rotation 1.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageFile } from '../src/pipeline/image-io.js';
import { REPO, runScript, tempDir } from './fixtures/maixpy/helpers.js';

const PHOTO = join(REPO, 'examples/images/grace_hopper.jpg');

function px(img: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const o = 3 * (y * img.width + x);
  return [...img.data.subarray(o, o + 3)];
}

describe('LCD framebuffer', () => {
  it('text drawn after lcd.display is in that frame: one PNG per camera frame, each with its label', async () => {
    const lcdOut = tempDir('lcd-text');
    const r = await runScript(
      {
        source: `
import sensor, lcd
lcd.init()
sensor.reset()
n = 0
while True:
    img = sensor.snapshot()
    n += 1
    lcd.display(img)
    lcd.fill_rectangle(300, 0, 20, 20, lcd.RED if n == 1 else lcd.GREEN)
`,
      },
      { camera: [PHOTO, PHOTO], lcdOut },
    );
    expect(r.exitCode).toBe(0);
    expect(readdirSync(lcdOut).sort()).toEqual(['lcd-0001.png', 'lcd-0002.png']);
    expect(px(readImageFile(join(lcdOut, 'lcd-0001.png')), 310, 10)).toEqual([255, 0, 0]);
    expect(px(readImageFile(join(lcdOut, 'lcd-0002.png')), 310, 10)).toEqual([0, 255, 0]);
    expect(r.displays).toBe(2);
  });

  it('a clear before display is not a frame of its own; text-only loops give a frame per sleep', async () => {
    const lcdOut = tempDir('lcd-clear');
    const r = await runScript(
      {
        source: `
import lcd, image, time
lcd.init()
img = image.Image(size=(320, 240))
img.draw_rectangle(0, 0, 320, 240, color=(0, 0, 255), fill=True)
for i in range(3):
    lcd.clear(lcd.RED)
    lcd.display(img)
for i in range(2):
    lcd.clear(lcd.BLACK)
    lcd.draw_string(10, 10, 'tick %d' % i)
    time.sleep_ms(500)
`,
      },
      { lcdOut },
    );
    expect(r.exitCode).toBe(0);
    const files = readdirSync(lcdOut).sort();
    expect(files.length).toBe(5);
    for (const f of files.slice(0, 3)) expect(px(readImageFile(join(lcdOut, f)), 100, 100)).toEqual([0, 0, 255]);
    for (const f of files.slice(3)) expect(px(readImageFile(join(lcdOut, f)), 100, 100)).toEqual([0, 0, 0]);
  });

  it('rotation keeps the pixels (only the address mode changes) and accepts 0..3 only', async () => {
    const lcdOut = tempDir('lcd-rot');
    const r = await runScript(
      {
        source: `
import lcd
lcd.init()
lcd.fill_rectangle(5, 7, 1, 1, lcd.RED)
lcd.fill_rectangle(300, 200, 1, 1, lcd.GREEN)
print(lcd.rotation(1), lcd.width(), lcd.height())
lcd.fill_rectangle(0, 0, 1, 1, lcd.BLUE)
try:
    lcd.rotation(4)
except ValueError as e:
    print('ValueError', e)
`,
      },
      { lcdOut },
    );
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual(['1 240 320', 'ValueError value:[0,3]']);
    const files = readdirSync(lcdOut).sort();
    expect(files).toEqual(['lcd-0001.png']);
    const img = readImageFile(join(lcdOut, files[0]));
    expect([img.width, img.height]).toEqual([240, 320]);
    expect(px(img, 7, 319 - 5)).toEqual([255, 0, 0]);
    expect(px(img, 200, 319 - 300)).toEqual([0, 255, 0]);
    expect(px(img, 0, 0)).toEqual([0, 0, 255]);
    expect(px(img, 5, 7)).toEqual([0, 0, 0]);
  });
});
