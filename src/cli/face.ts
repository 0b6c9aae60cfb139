/**
 * `kpusim face detect|enroll|recognize <images..>`: MaixPy's (or CanMV's) face recognition flow
 * on the emulated K210, one image file = one camera frame. The work is in src/face (glue) and
 * src/pipeline (the demos' steps); this file parses options and prints.
 *
 * One yargs command with the action as a positional (nested subcommands would not reach
 * `Command.run`). Exit codes: 0 (also when no face is found), 2 for an unreadable image, a model
 * of the wrong shape for its role, a corrupt or mismatched store, an enrolment image without a
 * face, or a bad option.
 */
import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserText } from '../io/read-file.js';
import { annotate } from '../face/annotate.js';
import {
  bundledPreset,
  DEFAULT_MANIFEST,
  checkManifestModel,
  manifestModel,
  manifestRoles,
  readManifest,
  type InputSize,
  type Manifest,
} from '../face/bundled.js';
import { loadFaceModel, type LoadedFaceModel, type ModelRole } from '../face/models.js';
import { runFaceDemo } from '../face/demo.js';
import { FaceSession, type FrameFilter, type ImageAnalysis } from '../face/session.js';
import { commitEnrolment, enrol, openStoreForEnroll, openStoreForRecognize, storeFeatures } from '../face/store.js';
import { storeTarget } from '../pipeline/face-store.js';
import { writePngFile, readImageFile, type DecodedImage } from '../pipeline/image-io.js';
import { mergeOverrides, parseSet, resolvePreset, type FacePreset } from '../pipeline/presets.js';
import type { Command } from './command.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { checkOutputPaths, clockOptions, clocksFrom, numericsOptions, timingFrom } from './options.js';
import type { TimingParams } from '../kpu/timing/params.js';
import { checkJobs, JOBS_OPTION, sweep, taskArgs } from './sweep.js';

type Action = 'detect' | 'enroll' | 'recognize' | 'demo';
const ACTIONS = ['detect', 'enroll', 'recognize', 'demo'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readConfig(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readUserText(file, FILE_CAPS.json));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_FILE',
      `${file}: ${code === 'ENOENT' ? 'no such file' : `not a JSON preset config (${(e as Error).message})`}`,
    );
  }
  if (!isObject(raw))
    throw new UsageError(
      'BAD_FILE',
      `${file}: a preset config is a JSON object of fields to override, e.g. {"detector": {"threshold": 0.6}}`,
    );
  return raw;
}

/** Overrides from --config, --set and the named flags, in that order (later wins). */
function overridesFrom(args: Record<string, unknown>): Record<string, unknown> {
  let o: Record<string, unknown> = {};
  if (args.numerics === 'board') o = { features: { fusedMultiplyAdd: true } };
  if (typeof args.config === 'string') o = mergeOverrides(o, readConfig(args.config));
  const sets = args.set === undefined ? [] : Array.isArray(args.set) ? args.set : [args.set];
  for (const s of sets) o = mergeOverrides(o, parseSet(String(s)));
  const num = (k: string): number | undefined => {
    const v = args[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new UsageError('BAD_ARGUMENT', `--${k} must be a number`);
    return v;
  };
  const flags: Record<string, unknown> = {};
  const det: Record<string, unknown> = {};
  if (num('threshold') !== undefined) det.threshold = num('threshold');
  if (num('nms') !== undefined) det.nmsValue = num('nms');
  if (typeof args.anchors === 'string') {
    const a = args.anchors.split(',').map(Number);
    if (a.some((v) => !Number.isFinite(v)))
      throw new UsageError(
        'BAD_ARGUMENT',
        `--anchors takes comma-separated numbers (w0,h0,w1,h1,…), got "${args.anchors}"`,
      );
    det.anchors = a;
  }
  if (Object.keys(det).length) flags.detector = det;
  if (num('match-threshold') !== undefined) flags.features = { threshold: num('match-threshold') };
  return mergeOverrides(o, flags);
}

const inputSize = (m: LoadedFaceModel | undefined): InputSize | undefined => {
  if (!m) return undefined;
  const s = m.prepared.inputs[0]?.shape ?? [];
  return s.length >= 2 ? { width: s[s.length - 1], height: s[s.length - 2] } : undefined;
};

interface Setup {
  readonly session: FaceSession;
  readonly preset: FacePreset;
  readonly manifest?: Manifest;
}

/** Preset and models from the options; wrong-role models and a missing manifest are exit 2. */
function setup(action: Action, args: Record<string, unknown>): Setup {
  const presetName = String(args.preset ?? (action === 'demo' ? 'bundled' : 'maixpy'));
  const numerics = {
    numerics: args.numerics as 'golden' | 'board',
    kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
    ...(typeof args['nncase-version'] === 'string' ? { nncaseVersion: args['nncase-version'] } : {}),
  };
  const needAll = action !== 'detect';
  const given = (r: ModelRole): string | undefined => {
    const v = Array.isArray(args[r]) ? (args[r] as unknown[]).at(-1) : args[r]; // repeated: the last one wins
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  let manifest: Manifest | undefined;
  const paths: Partial<Record<ModelRole, string>> = {};
  const fromManifest = new Set<ModelRole>();
  for (const r of ['detector', 'landmarks', 'features'] as const) {
    const p = given(r);
    if (p !== undefined) paths[r] = p;
  }
  if (presetName === 'bundled') {
    manifest = readManifest(typeof args.manifest === 'string' ? args.manifest : DEFAULT_MANIFEST);
    for (const r of manifestRoles(manifest, paths, needAll)) {
      paths[r] = manifestModel(manifest, r).file;
      fromManifest.add(r);
    }
  }
  if (paths.detector === undefined)
    throw new UsageError(
      'BAD_ARGUMENT',
      `face ${action} needs --detector FILE (or --preset bundled once models/manifest.json exists)`,
    );
  if (needAll)
    for (const r of ['landmarks', 'features'] as const)
      if (paths[r] === undefined)
        throw new UsageError('BAD_ARGUMENT', `face ${action} needs --landmarks FILE and --features FILE`);
  const models: Partial<Record<ModelRole, LoadedFaceModel>> = {};
  for (const r of ['detector', 'landmarks', 'features'] as const) {
    const p = paths[r];
    if (p === undefined) continue;
    const m = loadFaceModel(p, numerics);
    if (fromManifest.has(r) && manifest) checkManifestModel(manifest, r, p, m.sha256);
    models[r] = m;
  }
  const base =
    presetName === 'bundled'
      ? bundledPreset(manifest!, {
          detector: inputSize(models.detector),
          landmarks: inputSize(models.landmarks),
          features: inputSize(models.features),
        })
      : resolvePreset(presetName);
  const preset = resolvePreset(base, overridesFrom(args));
  const session = new FaceSession({
    preset,
    detector: models.detector!,
    ...(models.landmarks ? { landmarks: models.landmarks } : {}),
    ...(models.features ? { features: models.features } : {}),
    ...timingArgs(args),
    frame: { mode: args.frame as 'fit' | 'crop' | 'stretch', filter: args.interp as FrameFilter },
  });
  return { session, preset, ...(manifest ? { manifest } : {}) };
}

/** Output file names: `<name>.png`, `<name>-2.png` for a repeated base name. */
function outNames(files: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return files.map((f) => {
    const base = basename(f, extname(f)) || 'image';
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? `${base}.png` : `${base}-${n}.png`;
  });
}

export interface ImageDoc {
  file: string;
  width: number;
  height: number;
  faces: ImageAnalysis['faces'];
  timing: ImageAnalysis['timing'];
  out?: string;
  enrolled_face?: number;
}

function imageDoc(file: string, a: ImageAnalysis): ImageDoc {
  return { file, width: a.width, height: a.height, faces: a.faces, timing: a.timing };
}

/** What `face detect|recognize` does per image, made once per thread (src/cli/tasks/face.ts). */
export interface FaceImageData {
  readonly args: Record<string, unknown>;
  /** Output file name of each image (`outNames`). */
  readonly names: readonly string[];
}

interface FaceImageContext {
  readonly session: FaceSession;
  readonly action: 'detect' | 'recognize';
  readonly stored: ReturnType<typeof storeFeatures>;
  readonly outDir: string | undefined;
  readonly names: readonly string[];
}

export function faceImageContext(
  args: Record<string, unknown>,
  names: readonly string[],
  made?: { session: FaceSession },
): FaceImageContext {
  const action = args.action as 'detect' | 'recognize';
  const { session } = made ?? setup(action, args);
  const stored = action === 'recognize' ? storeFeatures(openStoreForRecognize(String(args.db), session)) : [];
  const outDir = typeof args.out === 'string' && args.out !== '' ? args.out : undefined;
  return { session, action, stored, outDir, names };
}

/** One image: read it, analyse it as a camera frame, write its annotated PNG (with --out). */
export function faceImage(ctx: FaceImageContext, file: string, i: number): ImageDoc {
  const img = readImageFile(file);
  const d = imageDoc(file, ctx.session.analyse(img, ctx.action, ctx.stored));
  if (ctx.outDir) {
    const p = join(ctx.outDir, ctx.names[i]);
    writePngFile(p, annotate(img, d.faces));
    d.out = p;
  }
  return d;
}

function humanImage(d: ImageDoc, action: Action): string {
  const t = d.timing;
  const n = d.faces.length;
  let s = `${d.file}: ${n} face${n === 1 ? '' : 's'}; board ${t.board_ms.toFixed(2)} ms (${t.board_fps.toFixed(1)} fps), emulator ${t.emulator_ms.toFixed(0)} ms\n`;
  d.faces.forEach((f, i) => {
    const box = f.box.map((v) => Math.round(v)).join(',');
    const who =
      action === 'detect'
        ? ''
        : !f.processed
          ? ' (not processed: the preset processes the first face only)'
          : f.name !== null
            ? ` → ${f.name} (${f.similarity!.toFixed(1)})`
            : f.similarity !== null
              ? ` → nobody (best ${f.similarity.toFixed(1)})`
              : '';
    const mark = d.enrolled_face === i ? ' [enrolled]' : '';
    s += `  #${i} box ${box} score ${f.score.toFixed(3)}${who}${mark}\n`;
  });
  if (d.out) s += `  → ${d.out}\n`;
  return s;
}

/** `face demo`: enrol from one photo, recognise other views, reject another person; PNGs to --out (default out/). */
async function runDemo(args: Record<string, unknown>, io: Io): Promise<number> {
  const { session, preset } = setup('demo', args);
  const outDir = typeof args.out === 'string' && args.out !== '' ? args.out : 'out';
  mkdirSync(outDir, { recursive: true });
  const t0 = performance.now();
  const demo = runFaceDemo(session);
  const wallMs = performance.now() - t0;
  const frames = demo.frames.map((f) => {
    const out = join(outDir, `${f.name}.png`);
    writePngFile(out, annotate(f.image, f.analysis.faces));
    return {
      label: f.label,
      step: f.step,
      expect: f.expect,
      got: f.got,
      ok: f.ok,
      faces: f.analysis.faces,
      timing: f.analysis.timing,
      out,
    };
  });
  if (args.json) {
    printJson(io, { action: 'demo', preset: preset.name, ok: demo.ok, emulator_wall_ms: Math.round(wallMs), frames });
  } else {
    let t = `kpusim face demo: ${preset.name} models on the K210 emulator (KPU ${session.clocks.kpuMhz} MHz)\n\n`;
    for (const f of frames) {
      const verdict = f.step === 'enrol' ? 'enrolled' : f.got === null ? 'nobody recognised' : `recognised as ${f.got}`;
      const best = f.faces.find((x) => x.similarity !== null)?.similarity;
      t += `${f.ok ? 'ok  ' : 'FAIL'} ${f.label}: ${f.faces.length} face${f.faces.length === 1 ? '' : 's'}, ${verdict}${best !== undefined && best !== null ? ` (score ${best.toFixed(1)})` : ''}\n`;
      t += `     board ${f.timing.board_ms.toFixed(1)} ms per frame (${f.timing.board_fps.toFixed(1)} fps predicted), emulator ${f.timing.emulator_ms.toFixed(0)} ms → ${f.out}\n`;
    }
    t += demo.ok
      ? '\nThe enrolled person was recognised in every other view and the other person was not confused with her.\n'
      : '\nThe demo did not come out as expected (see FAIL above).\n';
    io.out(t);
  }
  return demo.ok ? EXIT.OK : EXIT.VIOLATION;
}

/** What each action needs, checked before anything is read or written. */
function checkFaceArgs(a: Record<string, unknown>): void {
  const action = String(a.action);
  const files = (a.images as unknown[] | undefined) ?? [];
  if (action === 'demo') {
    if (files.length) throw new UsageError('BAD_ARGUMENT', 'face demo takes no images (it uses examples/images)');
    return;
  }
  if (files.length === 0) throw new UsageError('BAD_ARGUMENT', `face ${action} needs at least one image`);
  if (action !== 'detect' && (typeof a.db !== 'string' || a.db === ''))
    throw new UsageError('BAD_ARGUMENT', `face ${action} needs --db FILE (the face store)`);
  if (action === 'enroll' && (typeof a.name !== 'string' || a.name.trim() === ''))
    throw new UsageError('BAD_ARGUMENT', 'face enroll needs --name NAME');
  if (action !== 'enroll' && a.name !== undefined)
    throw new UsageError('BAD_ARGUMENT', `--name is for face enroll, not face ${action}`);
  if (action === 'enroll') storeTarget(String(a.db)); // a read-only or odd store is refused before any work
}

/** `--timing` and the clocks, for the session. */
function timingArgs(args: Record<string, unknown>): {
  clocks: { kpuMhz: number; cpuMhz: number };
  timing?: TimingParams;
} {
  const timing = timingFrom(args);
  return { clocks: clocksFrom(args, timing), ...(timing ? { timing: timing.params } : {}) };
}

export const faceCommand: Command = {
  command: 'face <action> [images..]',
  describe:
    'Face detection and recognition as the MaixPy/CanMV demos do it, on the emulated K210 (detect, enroll, recognize; demo: the bundled models on the example photos)',
  builder: (y: Argv) =>
    numericsOptions(
      clockOptions(
        y
          .positional('action', {
            choices: ACTIONS,
            demandOption: true,
            describe:
              'detect: boxes only; enroll: add the largest face to --db; recognize: match faces against --db; demo: enrol and recognise on examples/images with the bundled models',
          })
          .positional('images', {
            type: 'string',
            array: true,
            describe: 'image files (PNG, JPEG, BMP), each one camera frame (not for demo)',
          })
          .option('preset', {
            choices: ['maixpy', 'canmv', 'bundled'] as const,
            describe:
              "the demo whose numbers to use (bundled: kpusim's own models in models/manifest.json); default maixpy, and bundled for demo",
          })
          .option('detector', { type: 'string', describe: 'face detector .kmodel (YOLOv2 region output)' })
          .option('landmarks', { type: 'string', describe: '5-point landmark .kmodel' })
          .option('features', { type: 'string', describe: 'feature extractor .kmodel' })
          .option('db', { type: 'string', describe: 'face store (JSON); enroll creates it' })
          .option('name', { type: 'string', describe: 'enroll: the person’s name' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' })
          .option('out', { type: 'string', describe: 'directory for annotated PNGs' })
          .option('frame', {
            choices: ['fit', 'crop', 'stretch'] as const,
            default: 'fit' as const,
            describe: 'how an image becomes the 320×240 frame: fit (letterbox), crop (fill and cut), stretch',
          })
          .option('interp', {
            choices: ['auto', 'area', 'bilinear', 'nearest'] as const,
            default: 'auto' as const,
            describe: 'scaling filter (auto: area when shrinking, bilinear when enlarging)',
          })
          .option('config', {
            type: 'string',
            describe: 'JSON file of preset fields to override, e.g. {"detector": {"threshold": 0.6}}',
          })
          .option('set', {
            type: 'string',
            array: true,
            describe:
              'override one preset field: path=value, the value JSON or a plain string (e.g. detector.facesPerFrame=all)',
          })
          .option('threshold', { type: 'number', describe: 'detector score threshold (preset: 0.5)' })
          .option('nms', { type: 'number', describe: 'NMS IoU threshold (maixpy 0.3, canmv 0.2)' })
          .option('anchors', { type: 'string', describe: 'detector anchors w0,h0,w1,h1,… in grid cells' })
          .option('match-threshold', { type: 'number', describe: 'recognition threshold (maixpy 85, canmv 80.5)' })
          .option('manifest', {
            type: 'string',
            describe: 'bundled preset: the model manifest (default: the package’s models/manifest.json)',
          })
          .option('jobs', { ...JOBS_OPTION, describe: `detect, recognize: ${JOBS_OPTION.describe}` })
          .check((a) => {
            checkFaceArgs(a);
            checkJobs(a.jobs);
            return checkOutputPaths(a, ['out'], ['db']);
          }),
      ),
    ),
  async run(args, io: Io) {
    const action = args.action as Action;
    if (!(ACTIONS as readonly string[]).includes(String(action)))
      throw new UsageError('BAD_ARGUMENT', `face: unknown action "${String(action)}" (detect, enroll, recognize)`);
    checkFaceArgs(args);
    if (action === 'demo') return runDemo(args, io);
    const files = ((args.images as unknown[] | undefined) ?? []).map(String);
    const db = typeof args.db === 'string' && args.db !== '' ? args.db : undefined;
    const { session, preset } = setup(action, args);
    const outDir = typeof args.out === 'string' && args.out !== '' ? args.out : undefined;
    if (outDir) mkdirSync(outDir, { recursive: true });
    const names = outNames(files);
    const progress = new Progress(io, files.length, `face ${action}`);
    const docs: ImageDoc[] = [];
    const decoded = new Map<string, DecodedImage>();
    const writeOut = (i: number, d: ImageDoc, img: DecodedImage): void => {
      if (!outDir) return;
      const p = join(outDir, names[i]);
      // The enrolled face is labelled "+name" in the picture (the JSON keeps the match result).
      const faces = d.faces.map((f, k) =>
        k === d.enrolled_face ? { ...f, name: `+${String(args.name)}`, similarity: null } : f,
      );
      writePngFile(p, annotate(img, faces));
      d.out = p;
    };

    let enrolledCount = 0;
    let storeCreated = false;
    if (action === 'enroll') {
      const { store } = openStoreForEnroll(db!, session);
      const images = (function* () {
        for (const f of files) {
          const image = readImageFile(f);
          decoded.set(f, image);
          yield { file: f, image };
        }
      })();
      const r = enrol(session, store, String(args.name), images, db!, () => progress.tick());
      storeCreated = (await commitEnrolment(db!, session, store, r)).created;
      enrolledCount = r.enrolled.length;
      r.analyses.forEach((a, i) => {
        const d: ImageDoc = { ...imageDoc(files[i], a), enrolled_face: r.enrolled[i] };
        writeOut(i, d, decoded.get(files[i])!);
        docs.push(d);
      });
    } else {
      const ctx = faceImageContext(args, names, { session });
      docs.push(
        ...(await sweep({
          task: 'face',
          data: { args: taskArgs(args), names } satisfies FaceImageData,
          items: files,
          jobs: args.jobs as number | undefined,
          local: (f, i) => faceImage(ctx, f, i),
          onDone: (i) => progress.tick(basename(files[i])),
        })),
      );
    }
    progress.end();

    const modelDoc = (m: { path: string; sha256: string; boardMs: number } | undefined) =>
      m ? { file: m.path, sha256: m.sha256, board_ms: Math.round(m.boardMs * 1000) / 1000 } : null;
    if (args.json) {
      printJson(io, {
        action,
        preset: preset.name,
        models: {
          detector: modelDoc(session.detector),
          landmarks: modelDoc(session.landmarks),
          features: modelDoc(session.features),
        },
        clocks: { kpu_mhz: session.clocks.kpuMhz, cpu_mhz: session.clocks.cpuMhz },
        frame: { width: preset.frame.width, height: preset.frame.height, mode: session.frameOptions.mode },
        ...(db !== undefined ? { db } : {}),
        ...(action === 'enroll' ? { name: String(args.name), enrolled: enrolledCount, db_created: storeCreated } : {}),
        images: docs,
      });
    } else {
      let t = '';
      for (const d of docs) t += humanImage(d, action);
      if (action === 'enroll')
        t += `enrolled ${String(args.name)} from ${enrolledCount} image${enrolledCount === 1 ? '' : 's'} into ${db!}${storeCreated ? ' (new store)' : ''}\n`;
      io.out(t);
    }
    return EXIT.OK;
  },
};
