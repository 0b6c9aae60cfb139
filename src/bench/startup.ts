/**
 * Process start of the CLI against a bare `node -e 0`: wall time of `kpusim --version` and of
 * `kpusim info` on the bundled landmark model (150 KB), each run in a fresh process, alternated
 * with bare Node runs so both see the same load. Reported per command as the median of the
 * per-pair ratios with their min–max.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, r3, wallMs, withEnv } from './stats.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'bin/kpusim.js');

export interface RatioSpread {
  /** Median of the per-pair ratios (command wall time / `node -e 0` wall time). */
  readonly ratio: number;
  readonly min: number;
  readonly max: number;
  readonly pairs: number;
  /** Median wall time of the command, milliseconds. */
  readonly ms: number;
}

export interface StartupFigures {
  readonly node_ms: number;
  /**
   * `node -e 0` without NODE_EXTRA_CA_CERTS, where the environment sets it (null elsewhere): Node reads
   * and parses that certificate file as any process starts.
   */
  readonly node_no_extra_ca_ms: number | null;
  readonly version: RatioSpread;
  readonly info: RatioSpread;
}

/** `pairs` alternating (bare node, command) runs per command, after one warm-up run of each. */
export function startupRatio(pairs: number): StartupFigures {
  const commands = {
    version: [CLI, '--version'],
    info: [CLI, 'info', join(REPO, 'models/face_landmarks5_128.kmodel')],
  };
  const bare = ['-e', '0'];
  const nodeMs: number[] = [];
  const out: Record<string, RatioSpread> = {};
  for (const [name, args] of Object.entries(commands)) {
    wallMs(bare);
    wallMs(args);
    const ratios: number[] = [];
    const ms: number[] = [];
    for (let i = 0; i < pairs; i++) {
      // Alternate which one goes first, so a load change between the two does not favour either.
      const first = i % 2 === 0;
      const a = first ? wallMs(bare) : 0;
      const b = wallMs(args);
      const c = first ? a : wallMs(bare);
      nodeMs.push(c);
      ms.push(b);
      ratios.push(b / c);
    }
    out[name] = {
      ratio: r3(median(ratios)),
      min: r3(Math.min(...ratios)),
      max: r3(Math.max(...ratios)),
      pairs,
      ms: r3(median(ms)),
    };
  }
  let noCa: number | null = null;
  if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
    const env = withEnv({ NODE_EXTRA_CA_CERTS: undefined });
    noCa = r3(median(Array.from({ length: pairs }, () => wallMs(bare, env))));
  }
  return { node_ms: r3(median(nodeMs)), node_no_extra_ca_ms: noCa, version: out.version, info: out.info };
}
