/**
 * `kpusim maixpy` with kpusim's bundled face models (models/, issue 7): the MaixPy-style
 * face-recognition script on a fresh clone (no ../shared, no --flash: the bundled models stand at
 * the demo's flash addresses), and with MaixPy's own detector from ../shared at 0x300000.
 * Skipped until models/manifest.json exists.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import { prepare } from '../src/kpu/interpreter.js';
import { bundledModelsDir, readManifest } from '../src/maixpy/storage.js';
import { expectLabels, FIXTURES, REPO, runScript, tempDir, twoPeopleFrames } from './fixtures/maixpy/helpers.js';
import { HAS_SHARED, kmodelPath } from './shared.js';

const MANIFEST = join(bundledModelsDir(), 'manifest.json');
const HAS_BUNDLED = existsSync(MANIFEST);

/** The MaixPy-style fixture with the constants for another detector / feature input size. */
function scriptFor(opts: {
  anchors?: readonly number[];
  threshold?: number;
  nms?: number;
  side?: number;
  template?: readonly (readonly number[])[];
}): string {
  let s = readFileSync(join(FIXTURES, 'face_recognition_maixpy.py'), 'utf8');
  if (opts.anchors) s = s.replace(/^ANCHORS = .*$/m, `ANCHORS = (${opts.anchors.join(', ')})`);
  if (opts.threshold !== undefined) s = s.replace(/^DETECT_THRESHOLD = .*$/m, `DETECT_THRESHOLD = ${opts.threshold}`);
  if (opts.nms !== undefined) s = s.replace(/^NMS = .*$/m, `NMS = ${opts.nms}`);
  if (opts.side !== undefined) s = s.replace(/^SIDE = .*$/m, `SIDE = ${opts.side}`);
  if (opts.template)
    s = s.replace(/^TEMPLATE = .*$/m, `TEMPLATE = [${opts.template.map(([x, y]) => `(${x}, ${y})`).join(', ')}]`);
  const p = join(tempDir('bundled-script'), 'face_recognition_maixpy.py');
  writeFileSync(p, s);
  return p;
}

describe.skipIf(!HAS_BUNDLED)('kpusim maixpy with the bundled face models', () => {
  let camera: { dir: string; people: string[] };
  let raw: { models?: Record<string, unknown>[] };
  let side = 128;
  let template: number[][] | undefined;
  beforeAll(() => {
    camera = twoPeopleFrames();
    raw = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    const withTemplate = raw.models?.find((m) => Array.isArray(m.template));
    if (withTemplate) template = withTemplate.template as number[][];
    const features = readManifest().find((m) => m.role === 'features');
    if (features) {
      const shape = prepare(parseKmodel(new Uint8Array(readFileSync(features.file)), features.file)).inputs[0].shape;
      if (shape.length === 4) side = shape[3];
    }
  });

  it('all three bundled models at the demo flash addresses (no --flash, no ../shared): enrolled person recognised, the other not', async () => {
    const det = readManifest().find((m) => m.role === 'detector');
    expect(det?.anchors?.length).toBeGreaterThan(0);
    const entry = raw.models?.find((m) => m.role === 'detector') ?? {};
    const r = await runScript(
      scriptFor({
        anchors: det!.anchors,
        threshold: typeof entry.threshold === 'number' ? entry.threshold : undefined,
        nms: typeof entry.nms === 'number' ? entry.nms : undefined,
        side,
        template,
      }),
      { camera: [camera.dir], keyPress: [1] },
    );
    expect(r.stderr).toMatch(/flash 0x300000: no --flash mapping, using the bundled model/);
    expect(r.exitCode, r.stderr).toBe(0);
    expectLabels(r.lines, camera.people);
  });

  it.skipIf(!HAS_SHARED)(
    "MaixPy's detector from ../shared at 0x300000, bundled landmark and feature models at 0x400000/0x500000",
    async () => {
      const r = await runScript(scriptFor({ side, template }), {
        camera: [camera.dir],
        flash: [`0x300000=${kmodelPath('maixpy_face_detect_0x300000_v3')}`],
        keyPress: [1],
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expectLabels(r.lines, camera.people);
    },
  );

  it.skipIf(!HAS_SHARED)(
    "examples/maixpy/face_recognition.py: MaixPy's detector at 0x300000 and the bundled landmark and feature models",
    async () => {
      const r = await runScript(join(REPO, 'examples/maixpy/face_recognition.py'), {
        camera: [camera.dir],
        flash: [`0x300000=${kmodelPath('maixpy_face_detect_0x300000_v3')}`],
        keyPress: [1],
      });
      expect(r.exitCode, r.stderr).toBe(0);
      const names = r.lines.map((l) => /^face at \(.*\): (.*)$/.exec(l)?.[1]);
      expect(names).toEqual(
        camera.people.map((p, i) =>
          i === 0 ? 'unknown (enrolled as Alice)' : p === camera.people[0] ? 'Alice' : 'unknown',
        ),
      );
    },
  );
});
