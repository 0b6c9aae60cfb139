/**
 * The board page's webcam in a real Chromium, fed by Chromium's fake capture device from a Y4M file
 * this test writes from an example image (the same face for every frame). The face-recognition
 * example runs on the webcam; the BOOT button, clicked once the first face is reported, enrols the
 * face and the next frames recognise it (console); the LCD canvas shows the box. The page keeps the
 * webcam frames it handed to the board: `kpusim maixpy --camera` on those frames with the BOOT key
 * before the same frame prints the same console text and the same board fps; on the original image
 * file it reports the same people at the same places (the webcam's YUV 4:2:0 round trip changes
 * pixels, not faces). Screenshot: out/web-webcam.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { resizeRgb } from '../src/pipeline/convert.js';
import { readImageFile } from '../src/pipeline/image-io.js';
import type { RgbImage } from '../src/pipeline/types.js';
import { TOLERANCES } from '../src/tolerances.js';
import { REPO_ROOT, runKpusim } from './shared.js';
import { buildAndServe, CHROMIUM, launchChromium, WEB_SKIP_REASON, type WebSite } from './web-browser.js';

const OUT = join(REPO_ROOT, 'out');
const FACE = join(REPO_ROOT, 'examples/images/astronaut.jpg');
/** Frames of the run (as `--frames`): enough for the BOOT click to land before the last two. */
const FRAMES = 6;

/** A Y4M video (4:2:0, BT.601 limited range) showing `img` for `seconds` at 10 fps. */
function y4m(img: RgbImage, seconds: number): Buffer {
  const { width: w, height: h, data } = img;
  const cw = w >> 1,
    ch = h >> 1;
  const plane = new Uint8Array(w * h + 2 * cw * ch);
  const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = [data[3 * i], data[3 * i + 1], data[3 * i + 2]];
    plane[i] = clamp(16 + 0.257 * r + 0.504 * g + 0.098 * b);
  }
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++) {
      let r = 0,
        g = 0,
        b = 0;
      for (const [dx, dy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]) {
        const i = (2 * y + dy) * w + 2 * x + dx;
        r += data[3 * i] / 4;
        g += data[3 * i + 1] / 4;
        b += data[3 * i + 2] / 4;
      }
      plane[w * h + y * cw + x] = clamp(128 - 0.148 * r - 0.291 * g + 0.439 * b);
      plane[w * h + cw * ch + y * cw + x] = clamp(128 + 0.439 * r - 0.368 * g - 0.071 * b);
    }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), plane]);
  const parts = [Buffer.from(`YUV4MPEG2 W${w} H${h} F10:1 Ip A1:1 C420mpeg2\n`)];
  for (let i = 0; i < seconds * 10; i++) parts.push(frame);
  return Buffer.concat(parts);
}

interface Seen {
  readonly rect: readonly number[];
  readonly who: string;
}
/** The example's console lines: `face at (x, y, w, h): who`. */
function faces(text: string): Seen[] {
  return [...text.matchAll(/^face at \((\d+), (\d+), (\d+), (\d+)\): (.*)$/gm)].map((m) => ({
    rect: m.slice(1, 5).map(Number),
    who: m[5],
  }));
}

describe.skipIf(!CHROMIUM)(`board page with a webcam (${CHROMIUM ? 'chromium' : WEB_SKIP_REASON})`, () => {
  let site: WebSite;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    site = await buildAndServe();
    const video = join(site.dir, 'fake-webcam.y4m');
    writeFileSync(video, y4m(resizeRgb(readImageFile(FACE), 320, 240, { mode: 'crop', filter: 'area' }).image, 3));
    browser = await launchChromium([
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ]);
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  test('BOOT enrols the face from the webcam, the next frames recognise it; kpusim maixpy agrees', async () => {
    await page.goto(site.url + `?webcam=1&keypress=&frames=${FRAMES}&autorun=1`);
    await page.waitForSelector('body[data-state="running"]');
    expect(await page.textContent('#camera-note')).toMatch(/^Webcam: 320×240/);
    await page.waitForFunction("/: unknown\\n/.test(document.getElementById('console').textContent)", null, {
      timeout: 60_000,
    });
    await page.click('#boot');
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
    expect(await page.textContent('#state')).toBe('ended: frames-limit');
    const printed = (await page.textContent('#console')) ?? '';
    const seen = faces(printed);
    expect(seen).toHaveLength(FRAMES);
    const enrolled = seen.findIndex((s) => s.who === 'unknown (enrolled as Alice)');
    expect(enrolled, printed).toBeGreaterThan(0);
    expect(enrolled, printed).toBeLessThan(FRAMES - 1);
    expect(seen.slice(0, enrolled).every((s) => s.who === 'unknown')).toBe(true);
    expect(seen.slice(enrolled + 1).every((s) => s.who === 'Alice')).toBe(true);

    // The LCD shows the last frame's box: its top edge is white (draw_rectangle's default colour).
    const [x, y, w, h] = seen[FRAMES - 1].rect;
    const edge = await page.evaluate<{ top: number; bottom: number; inside: number }>(`(() => {
      const [x, y, w, h] = [${x}, ${y}, ${w}, ${h}];
      const c = document.getElementById('lcd');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const white = (px, py) => (d[4 * (py * c.width + px)] & d[4 * (py * c.width + px) + 1] & d[4 * (py * c.width + px) + 2]) === 255 ? 1 : 0;
      let top = 0, bottom = 0, inside = 0;
      for (let px = x; px < x + w; px++) {
        top += white(px, y);
        bottom += white(px, y + h - 1);
        inside += white(px, y + (h >> 1));
      }
      return { top: top / w, bottom: bottom / w, inside: inside / w };
    })()`);
    expect(edge.top).toBe(1);
    expect(edge.bottom).toBe(1);
    expect(edge.inside).toBeLessThan(0.5);

    const figures = (await page.textContent('#figures')) ?? '';
    const command = (await page.textContent('#webcam-cmd')) ?? '';
    const script = await page.evaluate<string>('kpusimBoard.script()');
    const frames = await page.evaluate<{ width: number; height: number; rgb: number[] }[]>(
      'kpusimBoard.webcamFrames().map((f) => ({ width: f.width, height: f.height, rgb: Array.from(f.rgb) }))',
    );
    const keys = await page.evaluate<number[]>('kpusimBoard.keyFrames()');
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'web-webcam.png'), fullPage: true });

    // The same frames on the CLI: the same console text and board fps.
    expect(frames).toHaveLength(FRAMES);
    expect(keys).toEqual([enrolled + 1]);
    const files = frames.map((f, i) => {
      const png = new PNG({ width: f.width, height: f.height });
      for (let p = 0; p < f.width * f.height; p++) {
        png.data.set(f.rgb.slice(3 * p, 3 * p + 3), 4 * p);
        png.data[4 * p + 3] = 255;
      }
      const file = join(site.dir, `webcam-${String(i + 1).padStart(3, '0')}.png`);
      writeFileSync(file, PNG.sync.write(png));
      return file;
    });
    expect(command).toBe(
      `kpusim maixpy face_recognition.py --camera ${files.map((f) => f.slice(site.dir.length + 1)).join(' ')} --key-press ${keys[0]} --frames ${FRAMES}`,
    );
    const scriptFile = join(site.dir, 'face_recognition.py');
    writeFileSync(scriptFile, script);
    const cli = await runKpusim([
      'maixpy',
      scriptFile,
      '--camera',
      ...files,
      '--key-press',
      String(keys[0]),
      '--frames',
      String(FRAMES),
    ]);
    expect(cli.code, cli.err).toBe(0);
    expect(printed).toBe(cli.out.toString());
    const fps = /board ([\d.]+) ms \(([\d.]+) fps\)/.exec(cli.err);
    expect(fps, cli.err).not.toBeNull();
    expect(figures).toContain(`board ${fps![2]} fps`);

    // The original image file: the same people at the same places.
    const direct = await runKpusim([
      'maixpy',
      scriptFile,
      '--camera',
      ...Array<string>(FRAMES).fill(FACE),
      '--key-press',
      String(keys[0]),
      '--frames',
      String(FRAMES),
    ]);
    expect(direct.code, direct.err).toBe(0);
    const want = faces(direct.out.toString());
    expect(seen.map((s) => s.who)).toEqual(want.map((s) => s.who));
    for (let i = 0; i < FRAMES; i++)
      for (let k = 0; k < 4; k++)
        expect(Math.abs(seen[i].rect[k] - want[i].rect[k])).toBeLessThanOrEqual(TOLERANCES.webcamFaceBoxPx);
  }, 150_000);
});
