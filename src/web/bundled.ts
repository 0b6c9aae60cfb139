/**
 * The bundled models in a Web Worker: models/manifest.json and its files, fetched from the page's
 * `models/` folder into the memory file system's `/models` (platform/browser/fs.ts), where the
 * library looks for them (KPUSIM_MODELS_DIR in platform/browser/globals.ts).
 */
import { putFile } from '../platform/browser/fs.js';

export async function loadBundledModels(workerUrl: string): Promise<void> {
  const base = new URL('../models/', workerUrl);
  const res = await fetch(new URL('manifest.json', base));
  if (!res.ok) return;
  const text = await res.text();
  putFile('/models/manifest.json', new TextEncoder().encode(text));
  const doc = JSON.parse(text) as { models?: { file?: string }[] };
  await Promise.all(
    (doc.models ?? []).map(async (m) => {
      if (typeof m.file !== 'string' || !/^[\w.-]+$/.test(m.file)) return;
      const r = await fetch(new URL(m.file, base));
      if (r.ok) putFile(`/models/${m.file}`, new Uint8Array(await r.arrayBuffer()));
    }),
  );
}
