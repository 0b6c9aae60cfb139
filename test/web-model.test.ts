/**
 * The model page in a real Chromium: a bundled model's layer table and time chart, whose total is
 * `kpusim profile`'s; a broken file shows the CLI's one-line reason. Screenshot: out/web-model.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT, runKpusim } from './shared.js';
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
});
