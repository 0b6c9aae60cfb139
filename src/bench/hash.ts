/**
 * Memory-hash throughput (the FNV-1a 64 of traces, after every layer): the WebAssembly version
 * behind `fnv1a64` and the plain JavaScript definition, on the emulated machine's memory as the
 * benchmark model leaves it (main SRAM and AI SRAM, mostly zeros between tensors) and on random
 * bytes (no zero runs: the per-byte chain alone). GB/s = 1e9 bytes per second, median of runs.
 */
import { fnv1a64, fnv1a64Plain } from '../kpu/hash.js';
import type { PreparedModel } from '../kpu/machine.js';

export interface HashFigures {
  /** The machine's memory after the benchmark model's run. */
  readonly memory_bytes: number;
  readonly memory: number;
  readonly memory_plain: number;
  /** Random bytes, the same size. */
  readonly random: number;
  readonly random_plain: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function gbPerS(bufs: readonly Uint8Array[], f: (b: Uint8Array) => string, runs: number): number {
  const bytes = bufs.reduce((a, b) => a + b.length, 0);
  bufs.forEach((b) => f(b));
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    for (const b of bufs) f(b);
    ts.push(performance.now() - t);
  }
  return r3(bytes / median(ts) / 1e6);
}

export function hashBenchmark(prepared: PreparedModel, input: Uint8Array, quick: boolean): HashFigures {
  let state: Uint8Array[] = [];
  prepared.run([input], { onLayer: (_s, st) => (state = [st.main.slice(), st.ai.slice()]) });
  const bytes = state.reduce((a, b) => a + b.length, 0);
  const random = new Uint8Array(bytes);
  let s = 12345;
  for (let i = 0; i < bytes; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    random[i] = (s >> 16) & 255;
  }
  const runs = quick ? 1 : 5;
  return {
    memory_bytes: bytes,
    memory: gbPerS(state, fnv1a64, runs),
    memory_plain: gbPerS(state, fnv1a64Plain, runs),
    random: gbPerS([random], fnv1a64, runs),
    random_plain: gbPerS([random], fnv1a64Plain, runs),
  };
}
