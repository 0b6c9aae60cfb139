/**
 * The model page in a real Chromium: a bundled model's layer table and time chart, whose total is
 * `kpusim profile`'s; a broken file shows the CLI's one-line reason. "Run on an image": the
 * outputs are `kpusim run`'s on the same image (byte for byte), YOLOX boxes are `kpusim run
 * --decode yolox`'s, a classifier's top classes are those of the CLI's output, the bundled detector's
 * boxes are drawn on the image, and a file that is not an image shows the CLI's one-line reason.
 * Screenshots: out/web-model.png, out/web-model-run.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { topK } from '../src/eval/metrics.js';
import { asFloat32 } from '../src/tensor.js';
import { HAS_SHARED, KMODELS_DIR, kmodelPath, REPO_ROOT, runKpusim, SHARED_SKIP_REASON } from './shared.js';
import { buildAndServe, CHROMIUM, launchChromium, WEB_SKIP_REASON, type WebSite } from './web-browser.js';

const OUT = join(REPO_ROOT, 'out');
const MODEL = 'face_landmarks5_128.kmodel';

describe.skipIf(!CHROMIUM)(`model page (${CHROMIUM ? 'chromium' : WEB_SKIP_REASON})`, () => {
  let site: WebSite;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    site = await buildAndServe();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(site.url + 'model.html');
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  test("a bundled model: the layer table and the chart's total are kpusim profile's", async () => {
    await page.selectOption('#bundled', MODEL);
    await page.waitForSelector('#layers tr:nth-child(2)');
    const cli = await runKpusim(['profile', join(REPO_ROOT, 'models', MODEL), '--json']);
    expect(cli.code, cli.err).toBe(0);
    const want = JSON.parse(cli.out.toString()) as { total_ms: number; layers: { type: string; ms: number }[] };
    const got = await page.evaluate<{ total_ms: number; layers: { type: string; ms: number }[] }>(
      'kpusimModel.report().profile',
    );
    expect(got.total_ms).toBe(want.total_ms);
    expect(got.layers.map((l) => [l.type, l.ms])).toEqual(want.layers.map((l) => [l.type, l.ms]));
    expect(await page.locator('#layers tr').count()).toBe(want.layers.length + 1);
    expect(await page.textContent('#total-ms')).toBe(String(Math.round(want.total_ms * 1000) / 1000));
    expect(await page.locator('#chart img').count()).toBe(1);
    expect(await page.textContent('#fits')).toBe('fits the K210');
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'web-model.png'), fullPage: true });
  });

  test("a broken file shows the CLI's one-line reason", async () => {
    const bytes = Buffer.from([0xdb, 0x25, 0x42, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await page.setInputFiles('#model-file', {
      name: 'broken.kmodel',
      mimeType: 'application/octet-stream',
      buffer: bytes,
    });
    await page.waitForSelector('#model-error:not([hidden])');
    const file = join(site.dir, 'broken.kmodel');
    writeFileSync(file, bytes);
    const cli = await runKpusim(['info', file]);
    expect(cli.code).toBe(2);
    expect(`kpusim: ${await page.textContent('#model-error')}\n`).toBe(cli.err.split(file).join('broken.kmodel'));
    expect(await page.isHidden('#result')).toBe(true);
  });

  interface Ran {
    decoded: string;
    doc: { outputs: { min: number; max: number; shape: number[] }[] };
    outputs: number[][];
    detections?: { label: number; score: number; box: number[]; image_box: number[] | null }[];
    top?: { label: number; value: number }[];
  }

  /** Loads `model` and runs it on `image` with the page's "outputs as" choice; the page's report. */
  async function runOnImage(model: string, image: string, decode = 'auto'): Promise<Ran> {
    await page.setInputFiles('#model-file', model);
    await page.waitForFunction(
      (name) =>
        (globalThis as unknown as { kpusimModel: { report(): { spec: string } | null } }).kpusimModel.report()?.spec ===
        name,
      model.split('/').pop(),
      { timeout: 60_000 },
    );
    await page.selectOption('#decode', decode);
    await page.setInputFiles('#image-file', image);
    await page.waitForFunction('kpusimModel.ran() !== null || !document.getElementById("run-error").hidden', null, {
      timeout: 60_000,
    });
    expect(await page.isHidden('#run-error'), (await page.textContent('#run-error')) ?? '').toBe(true);
    return page.evaluate<Ran>(
      '(() => { const r = kpusimModel.ran(); return { ...r, outputs: r.outputs.map((o) => Array.from(o)) }; })()',
    );
  }

  /** `kpusim run` on the same files: outputs.json and output_<i>.bin. */
  async function cliRun(model: string, image: string, extra: string[] = []) {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-web-run-'));
    const cli = await runKpusim(['run', model, '--input', image, '--out', dir, '--json', ...extra]);
    expect(cli.code, cli.err).toBe(0);
    const doc = JSON.parse(cli.out.toString()) as { outputs: { file: string }[]; detections?: unknown[] };
    return { doc, bins: doc.outputs.map((o) => [...readFileSync(join(dir, o.file))]) };
  }

  test("run on an image: the bundled detector's outputs are kpusim run's, its boxes drawn", async () => {
    const model = join(REPO_ROOT, 'models', 'face_detect_320x240.kmodel');
    const image = join(REPO_ROOT, 'examples/images/astronaut.jpg');
    const ran = await runOnImage(model, image, 'region:bundled');
    const cli = await cliRun(model, image);
    expect(ran.outputs).toEqual(cli.bins);
    expect(ran.decoded).toBe('region');
    expect(ran.detections!.length).toBeGreaterThan(0);
    // The image is drawn at its own size and the box, in image pixels, lies inside it.
    const size = await page.evaluate(
      '[document.getElementById("run-canvas").width, document.getElementById("run-canvas").height]',
    );
    expect(size).toEqual([512, 512]);
    const [x0, , x1, y1] = ran.detections![0].image_box!;
    expect(x0).toBeGreaterThanOrEqual(0);
    expect(y1).toBeLessThanOrEqual(512);
    expect(x1 - x0).toBeGreaterThan(20);
    expect(await page.textContent('#run-text')).toMatch(/detection\(s\) \(YOLOv2 region decode/);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'web-model-run.png'), fullPage: true });
  }, 120_000);

  test("run on an image: a file that is not an image gets the CLI's one-line reason", async () => {
    const model = join(REPO_ROOT, 'models', 'face_landmarks5_128.kmodel');
    await page.setInputFiles('#model-file', model);
    await page.waitForSelector('body[data-state="idle"]');
    const bytes = Buffer.from('not an image at all');
    await page.setInputFiles('#image-file', { name: 'photo.png', mimeType: 'image/png', buffer: bytes });
    await page.waitForSelector('#run-error:not([hidden])');
    const file = join(site.dir, 'photo.png');
    writeFileSync(file, bytes);
    const cli = await runKpusim(['run', model, '--input', file, '--out', join(site.dir, 'run-bad')]);
    expect(cli.code).toBe(2);
    expect(`kpusim: ${await page.textContent('#run-error')}\n`).toBe(cli.err.split(file).join('photo.png'));
  });

  describe.skipIf(!HAS_SHARED)(`shared models (${HAS_SHARED ? 'present' : SHARED_SKIP_REASON})`, () => {
    test("YOLOX boxes are kpusim run --decode yolox's", async () => {
      const model = kmodelPath('nncase_yolox_nano_224_k210_v5');
      const image = join(KMODELS_DIR, 'images', 'nncase_yolox_dog.jpg');
      const ran = await runOnImage(model, image);
      expect(ran.decoded).toBe('yolox');
      const cli = await cliRun(model, image, ['--decode', 'yolox']);
      expect(ran.outputs).toEqual(cli.bins);
      const want = cli.doc.detections as { label: number; prob: number; box: number[]; image_box?: number[] }[];
      expect(want.length).toBeGreaterThan(0);
      expect(ran.detections).toEqual(
        want.map((d) => ({ label: d.label, score: d.prob, box: d.box, image_box: d.image_box ?? null })),
      );
    }, 120_000);

    test("a classifier's top classes are those of kpusim run's output", async () => {
      const model = kmodelPath('maixpy_mnist_v3');
      const image = join(REPO_ROOT, 'examples/images/camera.png');
      const ran = await runOnImage(model, image);
      expect(ran.decoded).toBe('classify');
      const cli = await cliRun(model, image);
      expect(ran.outputs).toEqual(cli.bins);
      const scores = asFloat32(Uint8Array.from(cli.bins[0]));
      expect(ran.top!.map((c) => c.label)).toEqual(topK(scores, 5));
      expect(ran.top!.map((c) => c.value)).toEqual(topK(scores, 5).map((i) => scores[i]));
    }, 60_000);
  });
});
