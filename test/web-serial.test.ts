/**
 * The board page's "Connect board" (Web Serial) in a real Chromium. The test gives the page a
 * `navigator.serial` whose port is the virtual board running in a Web Worker (the static build's
 * virtual-serial.js: kpusim's MaixPy REPL, hil/virtual), so the page's whole path runs: the Web
 * Serial transport, `kpusim board`'s raw-REPL session, the script run. The board's console holds
 * what the emulator's console holds for the same script; Stop board interrupts an endless loop
 * (KeyboardInterrupt). Screenshot: out/web-serial.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from './shared.js';
import { buildAndServe, CHROMIUM, launchChromium, setScript, WEB_SKIP_REASON, type WebSite } from './web-browser.js';

const OUT = join(REPO_ROOT, 'out');
const SCRIPT = `import KPU as kpu
import image
task = kpu.load(0x400000)
img = image.Image(size=(128, 128))
img.draw_rectangle(30, 20, 60, 80, color=(200, 120, 60), fill=True)
img.pix_to_ai()
p = kpu.forward(task, img)[:]
print("landmarks", ["%.4f" % v for v in p])
for i in range(3):
    print("line", i, i * i)
`;

describe.skipIf(!CHROMIUM)(`board page, Connect board (${CHROMIUM ? 'chromium' : WEB_SKIP_REASON})`, () => {
  let site: WebSite;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    site = await buildAndServe();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.addInitScript(`Object.defineProperty(navigator, 'serial', {
      configurable: true,
      value: { requestPort: async () => (await import(new URL('virtual-serial.js', location.href).href)).virtualSerialPort() },
    })`);
    await page.goto(site.url);
    await page.waitForSelector('body[data-ready="1"]');
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  test("the editor's script on the board: its console is the emulator's", async () => {
    await setScript(page, SCRIPT);
    await page.click('#connect');
    await page.waitForSelector('body[data-board="connected"]', { timeout: 60_000 });
    expect(await page.textContent('#board-state')).toMatch(/^connected: .*\(maixpy, virtual board\)$/);
    await page.click('#board-run');
    await page.waitForFunction("document.getElementById('board-state').textContent.startsWith('board: ')", null, {
      timeout: 60_000,
    });
    expect(await page.textContent('#board-state')).toBe('board: the script ended');
    const board = (await page.textContent('#board-console')) ?? '';
    expect(board).toMatch(/^landmarks \['[\d.-]+', /);

    await page.click('#run');
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
    expect(await page.textContent('#state')).toBe('ended: script-ended');
    expect(await page.textContent('#console')).toBe(board);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'web-serial.png'), fullPage: true });
  }, 120_000);

  test('Stop board interrupts an endless loop on the board (KeyboardInterrupt)', async () => {
    await setScript(page, 'print("start")\nn = 0\nwhile True:\n    n += 1\n');
    await page.click('#board-run');
    await page.waitForFunction("document.getElementById('board-console').textContent === 'start\\n'", null, {
      timeout: 30_000,
    });
    await page.click('#board-stop');
    await page.waitForFunction("document.getElementById('board-state').textContent.startsWith('board: ')", null, {
      timeout: 30_000,
    });
    expect(await page.textContent('#board-state')).toBe('board: interrupted');
    expect(await page.textContent('#board-error')).toMatch(/KeyboardInterrupt/);
    expect(await page.getAttribute('body', 'data-board')).toBe('connected');
  }, 60_000);
});
