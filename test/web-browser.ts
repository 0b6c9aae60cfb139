/**
 * Browser tests' common parts: Debian's Chromium driven by playwright-core (no browser download),
 * the static build (`scripts/build-web.mjs`) written to a temporary folder, and `kpusim web`'s
 * static server on a free port. Without a Chromium the tests skip with WEB_SKIP_REASON.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveStatic } from '../src/cli/web.js';
import { REPO_ROOT } from './shared.js';

const CANDIDATES = [process.env.KPUSIM_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
export const CHROMIUM = CANDIDATES.find((p): p is string => !!p && existsSync(p));
export const WEB_SKIP_REASON = 'skipped: no Chromium found (apt-get install chromium, or set KPUSIM_CHROMIUM)';
if (!CHROMIUM) console.warn(WEB_SKIP_REASON);

export interface WebSite {
  readonly url: string;
  readonly dir: string;
  close(): Promise<void>;
}

/** Builds the static app into a temporary folder and serves it as `kpusim web` does. */
export async function buildAndServe(): Promise<WebSite> {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-web-'));
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-web.mjs'), dir], { stdio: 'pipe' });
  const { server, url } = await serveStatic(dir, 0);
  return {
    url,
    dir,
    close: () =>
      new Promise<void>((done) => {
        (server as Server).close(() => done());
        server.closeAllConnections();
        rmSync(dir, { recursive: true, force: true });
      }),
  };
}

export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...args] });
}

/** The board page's editor text is replaced (the page's test hook, web/app/board.ts). */
export async function setScript(page: Page, text: string): Promise<void> {
  await page.evaluate(`kpusimBoard.setScript(${JSON.stringify(text)})`);
}

/** The LCD canvas: its size and how many pixels are not black. */
export function lcdStats(page: Page): Promise<{ n: number; w: number; h: number }> {
  return page.evaluate(`(() => {
    const c = document.getElementById('lcd');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 0) n++;
    return { n, w: c.width, h: c.height };
  })()`);
}
