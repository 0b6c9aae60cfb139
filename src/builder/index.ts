/**
 * The model builder: float networks from TensorFlow.js weights → kmodel v3 for the K210
 * (graph.ts → lower.ts → quantize.ts → emit.ts), with the bundled face models' definitions
 * (nets/), calibration and evaluation data (data.ts) and the manifest (manifest.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Accuracy,
  type BuildConfig,
  buildModel,
  type BuiltModel,
  evaluateModel,
  loadNetworks,
  prepareSamples,
  type Role,
  tfjsAgreement,
} from './build.js';
import { manifestEntry, manifestJson, type ManifestEntry } from './manifest.js';

export * from './build.js';

export interface BuildOptions {
  /** Write the .kmodel files and manifest.json here. */
  readonly outDir?: string;
  /** Run the models on the emulator over the evaluation photos (default true). */
  readonly evaluate?: boolean;
  /** Also compare the float graphs with TensorFlow.js running the original networks (default true when evaluating). */
  readonly tfjs?: boolean;
  readonly log?: (s: string) => void;
}

export interface BuildResult {
  readonly config: BuildConfig;
  readonly models: readonly BuiltModel[];
  readonly entries: readonly ManifestEntry[];
  readonly manifest: string;
}

export async function runBuild(config: BuildConfig, opts: BuildOptions = {}): Promise<BuildResult> {
  const log = opts.log ?? (() => undefined);
  const evaluate = opts.evaluate ?? true;
  const nets = loadNetworks(config);
  const samples = prepareSamples(config, nets, { evaluation: evaluate, log });
  const version = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const provenance = { faceApiVersion: version(nets.faceApiDir), humanVersion: version(nets.humanDir) };
  const models: BuiltModel[] = [];
  const entries: ManifestEntry[] = [];
  for (const role of config.roles as Role[]) {
    const t0 = Date.now();
    const m = buildModel(role, nets, samples, config);
    models.push(m);
    const kpu = m.plan.ops.filter((o) => o.kind === 'kpu-conv').length;
    log(
      `${role}: ${m.file}, ${m.bytes.length} bytes, ${m.plan.ops.length} layers (${kpu} KPU, ${m.plan.ops.length - kpu} CPU), built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    for (const n of m.plan.notes) log(`  note: ${n}\n`);
    let accuracy: (Accuracy & { tfjs_agreement?: unknown }) | undefined;
    if (evaluate) {
      accuracy = evaluateModel(m, nets, samples, config);
      if (opts.tfjs ?? true)
        accuracy = { ...accuracy, tfjs_agreement: await tfjsAgreement(role, nets, samples, config) };
      log(`  accuracy: ${JSON.stringify(accuracy)}\n`);
    }
    entries.push(manifestEntry(m, config, provenance, accuracy));
  }
  // Building some roles into a directory that has a manifest keeps the other roles' entries.
  const kept: ManifestEntry[] = [];
  const old = opts.outDir ? join(opts.outDir, 'manifest.json') : undefined;
  if (old && existsSync(old)) {
    try {
      const prev = JSON.parse(readFileSync(old, 'utf8')) as { models?: ManifestEntry[] };
      for (const e of prev.models ?? [])
        if (!entries.some((n) => n.role === e.role) && existsSync(join(opts.outDir!, e.file))) kept.push(e);
    } catch {
      /* an unreadable manifest is replaced */
    }
  }
  const manifest = manifestJson([...kept, ...entries]);
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    for (const m of models) writeFileSync(join(opts.outDir, m.file), m.bytes);
    writeFileSync(join(opts.outDir, 'manifest.json'), manifest);
  }
  return { config, models, entries, manifest };
}
