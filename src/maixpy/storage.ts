/**
 * Where `kpu.load` finds its models: the emulated SPI flash (`--flash ADDR=FILE`, or a `.kfpkg`
 * whose flash-list gives the addresses), the SD card (`/sd/...` paths map into `--sd DIR`) and
 * kpusim's bundled models (`models/manifest.json`, used for flash addresses no `--flash` maps
 * when an entry names that address).
 *
 * A load reads the kmodel from the start address to the end of the segment holding it (the
 * board's loader reads the header and then as many bytes as the model says; trailing bytes are
 * ignored), parses it once and prepares it for the interpreter.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { FLASH_BYTES } from '../chip.js';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { readKfpkg } from '../kmodel-parser/kfpkg.js';
import type { Kmodel, TensorDesc } from '../kmodel-parser/model.js';
import { parseKmodel } from '../kmodel-parser/parse.js';
import { prepare, type NumericsMode, type PreparedModel } from '../kpu/interpreter.js';
import { profileTotalMs } from '../kpu/timing/profile.js';
import { TIMING_PARAMS, type TimingParams } from '../kpu/timing/params.js';
import { FILE_CAPS } from '../io/read-file.js';
import { readFileChecked, readModelBytes } from '../load.js';

export interface FlashSegment {
  readonly address: number;
  readonly bytes: Uint8Array;
  /** What the user named (file, `pkg.kfpkg#inner`, or `bundled:NAME`). */
  readonly source: string;
}

/**
 * An address as the board prints it: unsigned hex. Python ints cross the WebAssembly bridge as
 * 32-bit signed values, so 0xFFFFFFFF arrives as -1; it is shown (and looked up) as 0xffffffff.
 */
export function hexAddress(address: number): string {
  const u = Number.isInteger(address) && address < 0 && address >= -0x80000000 ? address >>> 0 : address;
  return Number.isSafeInteger(u) && u >= 0 ? `0x${u.toString(16)}` : String(address);
}

export function parseAddress(text: string, what: string): number {
  const t = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^[0-9]+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isSafeInteger(v) || v < 0 || v >= FLASH_BYTES)
    throw new UsageError(
      'BAD_ARGUMENT',
      `${what}: "${text}" is not a flash address (0 … 0x${(FLASH_BYTES - 1).toString(16)}, decimal or 0x hex)`,
    );
  return v;
}

/**
 * One `--flash` argument: `ADDR=FILE` (FILE may be `pkg.kfpkg#inner.kmodel`) or a `.kfpkg` whose flash-list gives the
 * addresses.
 */
export function parseFlashSpec(spec: string): FlashSegment[] {
  const eq = spec.indexOf('=');
  if (eq > 0) {
    const address = parseAddress(spec.slice(0, eq), `--flash ${spec}`);
    const file = spec.slice(eq + 1);
    if (file === '') throw new UsageError('BAD_ARGUMENT', `--flash ${spec}: no file after "="`);
    const { bytes } = readModelBytes(file);
    return [{ address, bytes, source: file }];
  }
  if (!/\.kfpkg$/i.test(spec))
    throw new UsageError(
      'BAD_ARGUMENT',
      `--flash ${spec}: give ADDR=FILE (e.g. 0x300000=model.kmodel) or a .kfpkg flash package`,
    );
  const pkg = readKfpkg(readFileChecked(spec, FILE_CAPS.kfpkg), spec);
  const out: FlashSegment[] = [];
  for (const e of pkg.entries) {
    if (e.address === null) continue;
    const bytes = pkg.read(e.name);
    if (bytes) out.push({ address: e.address, bytes, source: `${spec}#${e.name}` });
  }
  if (out.length === 0)
    throw new UsageError('BAD_ARGUMENT', `--flash ${spec}: the package's flash-list.json gives no addresses`);
  return out;
}

/** A bundled model as `models/manifest.json` describes it (fields read leniently; see `readManifest`). */
export interface BundledModel {
  readonly name: string;
  /** `detector`, `landmarks` or `features` (issue 7's manifest). */
  readonly role?: string;
  readonly file: string;
  /** Detector anchors (grid units) when the manifest gives them. */
  readonly anchors?: readonly number[];
  /** Flash address a MaixPy script loads it from, when the manifest gives one. */
  readonly flashAddress: number | null;
  readonly description?: string;
}

/**
 * Where MaixPy's face demo loads each role from (face-pipeline §7.7, flash addresses at HEAD of sipeed's
 * scripts): a bundled model with a role stands at that address unless the manifest names another.
 */
export const ROLE_FLASH: Readonly<Record<string, number>> = {
  detector: 0x300000,
  landmarks: 0x400000,
  features: 0x500000,
};

/** kpusim's `models/` folder (beside `dist/` or `src/`); `KPUSIM_MODELS_DIR` overrides it. */
export function bundledModelsDir(): string {
  return process.env.KPUSIM_MODELS_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
}

function addressField(v: unknown): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < FLASH_BYTES) return v;
  if (typeof v === 'string') {
    try {
      return parseAddress(v, 'models/manifest.json');
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * The bundled models: `models/manifest.json` holds a list of models (either the document itself
 * or its `models` field), each with a `file` (or `path`, relative to `models/`), a `role` and/or
 * a `name`, and optionally a flash address (`flash_address`, `flash`, `address` or
 * `maixpy.flash_address`; a number or a 0x string). Without one, the role's address in MaixPy's
 * demo is used (`ROLE_FLASH`). Absent manifest: no bundled models.
 */
export function readManifest(dir: string = bundledModelsDir()): BundledModel[] {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError('BAD_FILE', `${file}: not valid JSON (${(e as Error).message})`);
  }
  const list = Array.isArray(doc)
    ? doc
    : Array.isArray((doc as { models?: unknown })?.models)
      ? (doc as { models: unknown[] }).models
      : [];
  const out: BundledModel[] = [];
  for (const raw of list) {
    if (typeof raw !== 'object' || raw === null) continue;
    const r = raw as Record<string, unknown>;
    const rel = typeof r.file === 'string' ? r.file : typeof r.path === 'string' ? r.path : undefined;
    const name =
      typeof r.name === 'string' ? r.name : typeof r.id === 'string' ? r.id : typeof r.role === 'string' ? r.role : rel;
    if (!name || !rel) continue;
    const maixpy = typeof r.maixpy === 'object' && r.maixpy !== null ? (r.maixpy as Record<string, unknown>) : {};
    const role = typeof r.role === 'string' ? r.role : undefined;
    const flashAddress =
      addressField(r.flash_address ?? r.flashAddress ?? r.flash ?? r.address ?? maixpy.flash_address ?? maixpy.flash) ??
      (role !== undefined && Object.prototype.hasOwnProperty.call(ROLE_FLASH, role) ? ROLE_FLASH[role] : null);
    out.push({
      name,
      role,
      file: isAbsolute(rel) ? rel : join(dir, rel),
      flashAddress,
      anchors:
        Array.isArray(r.anchors) && r.anchors.every((a) => typeof a === 'number') ? (r.anchors as number[]) : undefined,
      description: typeof r.description === 'string' ? r.description : undefined,
    });
  }
  return out;
}

/** Whether `path` (a real path) is `root` or lies under it. */
function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function errCode(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

/** One file or folder of the `--sd` folder as the card shows it. */
export interface SdEntry {
  /** Path on the card (`/sd/...`). */
  readonly board: string;
  /** Real path on the host. */
  readonly host: string;
  readonly kind: 'dir' | 'file';
  readonly size: number;
}

/**
 * The contents of the `--sd` folder, in name order. Symbolic links inside it are followed as long
 * as they stay in the folder (an SD card has no links; a link within the folder is taken for its
 * target). A link leading out of the folder, a link loop, or a folder link back into one of its
 * own parents is a usage error naming the link: kpusim never follows links out of a mapped folder.
 * Dangling links and what is neither file nor folder (fifos, sockets, devices) are left out.
 */
export function listSdFolder(
  dir: string,
  note?: (text: string) => void,
  /** Where the folder stands on the board, and the option that named it (a served board maps /flash too). */
  boardRoot = '/sd',
  option = '--sd',
): SdEntry[] {
  let root: string;
  try {
    root = realpathSync(dir);
  } catch (e) {
    throw new UsageError(
      'NOT_FOUND',
      `${option} ${dir}: ${errCode(e) === 'ELOOP' ? 'a symbolic link loop' : 'no such folder'}`,
    );
  }
  const out: SdEntry[] = [];
  const open = new Set<string>();
  const walk = (hostDir: string, board: string, shown: string): void => {
    open.add(hostDir);
    for (const name of readdirSync(hostDir).sort()) {
      const here = join(hostDir, name);
      const shownPath = join(shown, name);
      let real = here;
      if (lstatSync(here).isSymbolicLink()) {
        try {
          real = realpathSync(here);
        } catch (e) {
          if (errCode(e) === 'ELOOP')
            throw new UsageError('BAD_ARGUMENT', `${option} ${dir}: ${shownPath} is a symbolic link loop`);
          note?.(`${option}: ${shownPath} is a symbolic link to nothing; left out of the emulated board`);
          continue;
        }
        if (!within(root, real))
          throw new UsageError(
            'BAD_ARGUMENT',
            `${option} ${dir}: ${shownPath} is a symbolic link leading out of the folder (to ${real}); kpusim does not follow links out of a mapped folder`,
          );
      }
      const st = statSync(real);
      if (st.isDirectory()) {
        if (open.has(real))
          throw new UsageError(
            'BAD_ARGUMENT',
            `${option} ${dir}: ${shownPath} is a symbolic link back into its own parent ${real} (a loop)`,
          );
        out.push({ board: `${board}/${name}`, host: real, kind: 'dir', size: 0 });
        walk(real, `${board}/${name}`, shownPath);
      } else if (st.isFile()) out.push({ board: `${board}/${name}`, host: real, kind: 'file', size: st.size });
    }
    open.delete(hostDir);
  };
  walk(root, boardRoot, dir);
  return out;
}

export interface LoadedKpuModel {
  readonly source: string;
  readonly bytes: number;
  readonly model: Kmodel;
  readonly prepared: PreparedModel;
  /** Predicted board time of one run (timing model), ms. */
  readonly boardMs: number;
  /** The timing parameters that priced it (built-in, or a timing file's). */
  readonly timing: TimingParams;
  readonly input: TensorDesc;
  /** The runtime's layer count (v3 layers, v4 nodes, v5 ops). */
  readonly layerCount: number;
  readonly lastLayerType: string;
}

export interface StorageOptions {
  readonly flash?: readonly FlashSegment[];
  readonly sdDir?: string;
  readonly numerics?: NumericsMode;
  /** Use bundled models for unmapped flash addresses named in the manifest (default true). */
  readonly bundled?: boolean;
  /** Where notes go (which bundled model stands at an address). */
  readonly note?: (text: string) => void;
  /** Timing parameters of the board (`--timing FILE`; default the built-in ones). */
  readonly timing?: TimingParams;
}

export class Storage {
  private readonly segments: FlashSegment[];
  private readonly cache = new Map<string, LoadedKpuModel>();
  private bundledCache: BundledModel[] | null = null;

  constructor(private readonly opts: StorageOptions = {}) {
    this.segments = [...(opts.flash ?? [])].sort((a, b) => a.address - b.address);
    for (let i = 1; i < this.segments.length; i++) {
      const p = this.segments[i - 1],
        s = this.segments[i];
      if (p.address + p.bytes.length > s.address)
        throw new UsageError(
          'BAD_ARGUMENT',
          `--flash: ${p.source} at ${hexAddress(p.address)} (${p.bytes.length} bytes) overlaps ${s.source} at ${hexAddress(s.address)}`,
        );
    }
    for (const s of this.segments) {
      if (s.address + s.bytes.length > FLASH_BYTES)
        throw new UsageError(
          'BAD_ARGUMENT',
          `--flash: ${s.source} at ${hexAddress(s.address)} runs past the end of the 16 MiB flash`,
        );
    }
  }

  /** The board's timing parameters. */
  get timing(): TimingParams {
    return this.opts.timing ?? TIMING_PARAMS;
  }

  get sdDir(): string | undefined {
    return this.opts.sdDir;
  }

  private bundled(): BundledModel[] {
    if (this.bundledCache === null) this.bundledCache = this.opts.bundled === false ? [] : readManifest();
    return this.bundledCache;
  }

  /** Flash bytes from `address` to the end of the segment holding it (`size` bytes when given). */
  readFlash(address: number, size?: number): { bytes: Uint8Array; source: string } {
    if (Number.isInteger(address) && address < 0 && address >= -0x80000000) address = address >>> 0;
    if (!Number.isSafeInteger(address) || address < 0 || address >= FLASH_BYTES)
      throw new UsageError(
        'NOT_FOUND',
        `flash ${hexAddress(address)} lies beyond the 16 MiB flash (0x0 … ${hexAddress(FLASH_BYTES - 1)})`,
      );
    for (const s of this.segments) {
      if (address >= s.address && address < s.address + s.bytes.length) {
        const start = address - s.address;
        const end = size === undefined ? s.bytes.length : start + size;
        if (end > s.bytes.length)
          throw new RangeError(`flash ${hexAddress(address)}: ${size} bytes run past the end of ${s.source}`);
        return {
          bytes: s.bytes.subarray(start, end),
          source: start === 0 ? s.source : `${s.source}+${hexAddress(start)}`,
        };
      }
    }
    const b = this.bundled().find((m) => m.flashAddress === address);
    if (b) {
      const bytes = readFileChecked(b.file);
      this.opts.note?.(
        `flash ${hexAddress(address)}: no --flash mapping, using the bundled model ${b.name} (${b.file})`,
      );
      this.segments.push({ address, bytes, source: `bundled:${b.name}` });
      this.segments.sort((x, y) => x.address - y.address);
      return this.readFlash(address, size);
    }
    const mapped = this.segments.map((s) => `${hexAddress(s.address)}`).join(', ');
    throw new UsageError(
      'NOT_FOUND',
      `flash ${hexAddress(address)} holds nothing: map a model there with --flash ${hexAddress(address)}=FILE` +
        (mapped ? ` (mapped: ${mapped})` : ''),
    );
  }

  /** A board path (`/sd/...`) on the host, or an error naming the option to set. */
  resolveBoardPath(path: string): string {
    const m = /^\/(sd)(\/.*)?$/.exec(path);
    if (!m) throw new UsageError('NOT_FOUND', `${path}: kpusim maps only /sd/... paths (to --sd DIR)`);
    if (!this.opts.sdDir) throw new UsageError('NOT_FOUND', `${path}: no SD card: give --sd DIR to map /sd`);
    const root = resolve(this.opts.sdDir);
    const full = resolve(root, '.' + normalize(m[2] ?? '/'));
    const rel = relative(root, full);
    if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..'))
      throw new UsageError('NOT_FOUND', `${path}: outside the SD card`);
    return full;
  }

  /** A file of the SD card; links are followed only while they stay inside the `--sd` folder. */
  readBoardFile(path: string): Uint8Array {
    const host = this.resolveBoardPath(path);
    let real: string;
    try {
      real = realpathSync(host);
      if (!statSync(real).isFile()) throw new Error('not a file');
    } catch {
      throw new UsageError('NOT_FOUND', `${path}: no such file on the SD card (${host})`);
    }
    let root: string;
    try {
      root = realpathSync(this.opts.sdDir ?? '');
    } catch {
      throw new UsageError('NOT_FOUND', `${path}: the SD card folder ${this.opts.sdDir} is gone`);
    }
    if (!within(root, real))
      throw new UsageError(
        'NOT_FOUND',
        `${path}: a symbolic link leading out of the SD card folder (to ${real}); kpusim does not follow links out of a mapped folder`,
      );
    return readFileChecked(real);
  }

  /** Parse and prepare a model; cached by source (the same flash address loads the same model). */
  loadModel(bytes: Uint8Array, source: string): LoadedKpuModel {
    const hit = this.cache.get(source);
    if (hit) return hit;
    const model = parseKmodel(bytes, source);
    const prepared = prepare(model, { numerics: this.opts.numerics ?? 'golden' });
    if (prepared.inputs.length < 1) throw new UsageError('BAD_FILE', `${source}: the model has no input`);
    const events = prepared.events;
    const loaded: LoadedKpuModel = {
      source,
      bytes: bytes.length,
      model,
      prepared,
      boardMs: profileTotalMs(events, { params: this.timing }),
      timing: this.timing,
      input: prepared.inputs[0],
      layerCount: events.length,
      lastLayerType: events.length ? events[events.length - 1].type : '',
    };
    this.cache.set(source, loaded);
    return loaded;
  }

  loadFromFlash(address: number, size?: number): LoadedKpuModel {
    const { bytes, source } = this.readFlash(address, size);
    return this.loadModel(bytes, size === undefined ? source : `${source}[${size}]`);
  }

  loadFromPath(path: string, fallback?: (p: string) => Uint8Array | null): LoadedKpuModel {
    let bytes: Uint8Array;
    let source: string;
    try {
      source = this.resolveBoardPath(path);
      bytes = this.readBoardFile(path);
    } catch (e) {
      const alt = fallback?.(path);
      if (!alt) throw e;
      bytes = alt;
      source = `vfs:${path}`;
    }
    return this.loadModel(bytes, source);
  }
}
