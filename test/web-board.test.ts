/**
 * The board page in a real Chromium: the face-recognition example on example images, the BOOT key
 * before frame 1; the console text equals `kpusim maixpy`'s output for the same script and
 * frames, the LCD canvas shows a picture, a script error is shown with its line, Stop interrupts
 * a script that never ends while the page stays responsive. Screenshot: out/web-board.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT, runKpusim } from './shared.js';
import {
  buildAndServe,
  CHROMIUM,
  launchChromium,
  lcdStats,
  setScript,
  WEB_SKIP_REASON,
  type WebSite,
} from './web-browser.js';

const OUT = join(REPO_ROOT, 'out');
const CAMERA = ['examples/images/astronaut.jpg', 'examples/images/camera.png', 'examples/images/astronaut.jpg'];

describe.skipIf(!CHROMIUM)(`board page (${CHROMIUM ? 'chromium' : WEB_SKIP_REASON})`, () => {
  let site: WebSite;
  let browser: Browser;
  beforeAll(async () => {
    site = await buildAndServe();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  async function open(query = ''): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(site.url + query);
    await page.waitForSelector('body[data-ready="1"]');
    return page;
  }

  test('the face-recognition example: console equals kpusim maixpy on the same frames, LCD drawn', async () => {
    const page = await open(`?camera=${CAMERA.join(',')}&keypress=1&autorun=1`);
    await page.waitForSelector('body[data-state="idle"]', { timeout: 90_000 });
    expect(await page.textContent('#state')).toBe('ended: camera-exhausted');
    const printed = (await page.textContent('#console')) ?? '';
    const script = await page.evaluate(() =>
      (globalThis as unknown as { kpusimBoard: { script(): string } }).kpusimBoard.script(),
    );
    const lit = await lcdStats(page);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'web-board.png'), fullPage: true });
    const figures = (await page.textContent('#figures')) ?? '';
    await page.close();

    const file = join(site.dir, 'face_recognition.py');
    writeFileSync(file, script);
    const cli = await runKpusim([
      'maixpy',
      file,
      '--camera',
      ...CAMERA.map((c) => join(REPO_ROOT, c)),
      '--key-press',
      '1',
    ]);
    expect(cli.code, cli.err).toBe(0);
    expect(printed).toBe(cli.out.toString());
    expect(printed).toMatch(/enrolled as Alice/);
    expect(printed).toMatch(/: Alice\n$/);
    // The board's figures: the page's fps is the CLI summary's.
    const fps = /board ([\d.]+) ms \(([\d.]+) fps\)/.exec(cli.err);
    expect(fps, cli.err).not.toBeNull();
    expect(figures).toContain(`board ${fps![2]} fps`);
    expect(lit.w).toBe(320);
    expect(lit.h).toBe(240);
    expect(lit.n).toBeGreaterThan(320 * 240 * 0.5);
  });

  test('a script error shows the traceback and marks the line', async () => {
    const page = await open();
    await setScript(page, 'print("one")\nx = 1\ny = x / 0\n');
    await page.click('#run');
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
    expect(await page.textContent('#console')).toBe('one\n');
    expect(await page.textContent('#error')).toMatch(/line 3[\s\S]*ZeroDivisionError/);
    expect(await page.locator('.cm-error-line').count()).toBe(1);
    expect(await page.locator('.cm-error-line').textContent()).toBe('y = x / 0');
    await page.close();
  });

  test('Stop interrupts an endless script (KeyboardInterrupt); the page answers meanwhile', async () => {
    const page = await open();
    await setScript(page, 'print("start")\nn = 0\nwhile True:\n    n += 1\n');
    expect(await page.evaluate('crossOriginIsolated')).toBe(true);
    await page.click('#run');
    await page.waitForFunction("document.getElementById('console').textContent === 'start\\n'");
    const t0 = Date.now();
    expect(await page.evaluate(() => 6 * 7)).toBe(42);
    expect(Date.now() - t0).toBeLessThan(1000);
    await page.click('#stop');
    await page.waitForSelector('body[data-state="idle"]', { timeout: 10_000 });
    expect(await page.textContent('#error')).toMatch(/KeyboardInterrupt/);
    expect(await page.textContent('#state')).toBe('ended: python-error');
    await page.close();
  });
});
