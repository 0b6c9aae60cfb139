/**
 * Chrome trace event format (the JSON Perfetto and chrome://tracing open): one complete ("X")
 * event per layer on a KPU or a CPU track, the transfers a layer causes on a third track inside
 * the layer's span (uploads first, downloads last), and a counter ("C") track of AI SRAM bytes in
 * use. Timestamps are microseconds from the start of the run; layers run back to back as on the
 * board (the runtimes never overlap layers).
 */
import type { Profile } from '../kpu/timing/profile.js';

export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'C' | 'M';
  readonly pid: number;
  readonly tid?: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly args?: Record<string, unknown>;
}

export interface ChromeTrace {
  readonly traceEvents: TraceEvent[];
  readonly displayTimeUnit: 'ms';
  readonly otherData: Record<string, unknown>;
}

export const TRACE_TIDS = { KPU: 1, CPU: 2, transfers: 3 } as const;

const us = (ms: number) => Math.round(ms * 1000 * 1000) / 1000; // µs, to the nanosecond

export function chromeTrace(p: Profile, name = 'model'): ChromeTrace {
  const pid = 1;
  const ev: TraceEvent[] = [
    {
      name: 'process_name',
      ph: 'M',
      pid,
      args: { name: `K210 ${name} (kpusim timing model, KPU ${p.clocks.kpu_mhz} MHz, CPU ${p.clocks.cpu_mhz} MHz)` },
    },
    { name: 'thread_name', ph: 'M', pid, tid: TRACE_TIDS.KPU, args: { name: 'KPU' } },
    { name: 'thread_name', ph: 'M', pid, tid: TRACE_TIDS.CPU, args: { name: 'CPU' } },
    { name: 'thread_name', ph: 'M', pid, tid: TRACE_TIDS.transfers, args: { name: 'transfers (DMA / CPU copies)' } },
    { name: 'thread_sort_index', ph: 'M', pid, tid: TRACE_TIDS.KPU, args: { sort_index: 0 } },
    { name: 'thread_sort_index', ph: 'M', pid, tid: TRACE_TIDS.CPU, args: { sort_index: 1 } },
    { name: 'thread_sort_index', ph: 'M', pid, tid: TRACE_TIDS.transfers, args: { sort_index: 2 } },
  ];
  let t = 0;
  for (const l of p.layers) {
    ev.push({ name: 'AI SRAM', ph: 'C', pid, ts: us(t), args: { bytes: l.ai_sram_bytes } });
    ev.push({
      name: `${l.index} ${l.type}`,
      cat: l.unit,
      ph: 'X',
      pid,
      tid: TRACE_TIDS[l.unit],
      ts: us(t),
      dur: us(l.ms),
      args: {
        index: l.index,
        type: l.type,
        unit: l.unit,
        ms: l.ms,
        cycles: l.cycles,
        macs: l.macs,
        utilisation: l.utilisation,
        ai_sram_bytes: l.ai_sram_bytes,
        calibrated: l.calibrated,
      },
    });
    const ups = l.transfers.filter((x) => x.kind.startsWith('upload'));
    const downs = l.transfers.filter((x) => x.kind.startsWith('download'));
    // Uploads back to back from the layer's start, downloads back to back up to its end.
    const transfers = (xs: typeof ups, start: number): void => {
      for (const x of xs) {
        ev.push({
          name: `${x.kind} (layer ${l.index})`,
          cat: 'transfer',
          ph: 'X',
          pid,
          tid: TRACE_TIDS.transfers,
          ts: us(start),
          dur: us(x.ms),
          args: { layer: l.index, kind: x.kind, bytes: x.bytes, ms: x.ms },
        });
        start += x.ms;
      }
    };
    transfers(ups, t);
    transfers(downs, t + l.ms - downs.reduce((s, x) => s + x.ms, 0));
    t += l.ms;
  }
  ev.push({ name: 'AI SRAM', ph: 'C', pid, ts: us(t), args: { bytes: 0 } });
  return {
    traceEvents: ev,
    displayTimeUnit: 'ms',
    otherData: {
      generator: 'kpusim profile',
      kpu_ms: p.kpu_ms,
      cpu_ms: p.cpu_ms,
      overhead_ms: p.overhead_ms,
      total_ms: p.total_ms,
      ai_sram_peak_bytes: p.memory.ai_sram_peak_bytes,
      ai_sram_peak_layer: p.memory.ai_sram_peak_layer,
    },
  };
}

export function chromeTraceJson(p: Profile, name?: string): string {
  return JSON.stringify(chromeTrace(p, name)) + '\n';
}
