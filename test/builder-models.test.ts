/**
 * The committed models under models/: the manifest describes the files, they fit the K210 budget
 * (≤ 4 MiB together, AI SRAM peak ≤ 2 MiB each), run on the emulator with the documented shapes,
 * (test/builder-cli.test.ts regenerates the landmark model from the npm packages' weights byte for byte).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkApart, MODEL_FILES, presetConfig } from '../src/builder/index.js';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import { prepare } from '../src/kpu/interpreter.js';

const MODELS = join(__dirname, '..', 'models');
const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as {
  schema_version: number;
  models: {
    role: string;
    file: string;
    sha256: string;
    input: { shape: number[] };
    outputs: { shape: number[] }[];
    main_bytes: number;
    ai_sram_peak_bytes: number;
    board_ms: number;
    licence: string;
    source: Record<string, unknown>;
    anchors?: number[];
  }[];
};
const bytesOf = (file: string) => new Uint8Array(readFileSync(join(MODELS, file)));

describe('models/', () => {
  it('manifest lists the three roles with matching sha256 and fits the budget', () => {
    expect(manifest.schema_version).toBe(1);
    expect(manifest.models.map((m) => m.role)).toEqual(['detector', 'landmarks', 'features']);
    let total = 0;
    for (const m of manifest.models) {
      expect(m.file).toBe(MODEL_FILES[m.role as keyof typeof MODEL_FILES]);
      const b = bytesOf(m.file);
      total += b.length;
      expect(createHash('sha256').update(b).digest('hex')).toBe(m.sha256);
      expect(m.ai_sram_peak_bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
      expect(m.main_bytes).toBeGreaterThan(b.length);
      expect(m.board_ms).toBeGreaterThan(0);
      expect(m.licence).toMatch(/MIT|Apache-2.0/);
      expect(m.source.package).toMatch(/^@vladmandic\//);
    }
    expect(total).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(manifest.models[0].anchors).toHaveLength(10);
  });

  it('every model parses as kmodel v3 and runs on the emulator with the documented shapes', () => {
    for (const m of manifest.models) {
      const model = parseKmodel(bytesOf(m.file), m.file);
      expect(model.version).toBe(3);
      const pm = prepare(model);
      const n = m.input.shape.reduce((a, b) => a * b, 1);
      const input = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255);
      const out = pm.run([input]).outputs[0];
      expect(out.length).toBe(4 * m.outputs[0].shape.reduce((a, b) => a * b, 1));
      const f = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
      expect(f.every((v) => Number.isFinite(v))).toBe(true);
      if (m.role === 'features') expect(Math.hypot(...f)).toBeCloseTo(1, 4);
    }
  });

  it("K210_CONV layers follow nncase 0.1's file layout and the register rules of kpu-numerics §5 and §10", () => {
    for (const m of manifest.models) {
      const model = parseKmodel(bytesOf(m.file), m.file);
      if (model.version !== 3) throw new Error('not v3');
      expect(model.header.flags).toBe(1);
      for (const l of model.layers) {
        if (l.type !== 'K210_CONV') continue;
        const a = l.kpu.arg;
        expect(l.layer_offset % 8).toBe(0);
        expect(l.weights_offset % 128).toBe(0);
        expect(l.bn_offset % 128).toBe(0);
        expect(l.act_offset % 256).toBe(0);
        const k = a.kernel_type === 1 ? 3 : 1;
        const ic = a.i_ch_num + 1;
        const oc = a.o_ch_num + 1;
        const one = k * k * (a.depth_wise_layer ? 1 : ic);
        const perLoad = a.depth_wise_layer ? oc : Math.min(oc, Math.floor((30 * 1024) / one));
        expect(a.o_ch_num_coef + 1).toBe(perLoad);
        expect(a.load_time + 1).toBe(Math.ceil(oc / perLoad));
        expect(a.para_size).toBe(a.depth_wise_layer ? oc * one : perLoad * one);
        expect(a.para_size).toBeLessThanOrEqual(30 * 1024);
        expect(a.dma_total_byte + 1).toBe((a.o_row_wid + 1) * (a.o_col_high + 1) * oc);
        expect([a.dma_burst_size, a.load_para, a.load_coor, a.load_act]).toEqual([15, 1, 1, 1]);
        expect([a.pad_type, a.first_stride, a.bypass_conv, a.send_data_out, a.int_en]).toEqual([0, 0, 0, 0, 0]);
        if (a.depth_wise_layer) expect(a.pool_type).toBe(0);
        expect(a.i_row_wid + 1).toBeGreaterThanOrEqual(4);
        expect(a.i_row_wid + 1).toBeLessThanOrEqual(512);
        expect(a.i_col_high + 1).toBeLessThanOrEqual(256);
        expect(l.kpu.activation[0].x_start).toBe(-(2 ** 35));
        for (let i = 1; i < 16; i++)
          expect(l.kpu.activation[i].x_start).toBeGreaterThanOrEqual(l.kpu.activation[i - 1].x_start);
        for (const s of l.kpu.activation) expect(s.shift_number).toBeLessThanOrEqual(43);
      }
    }
  });

  it('refuses calibration photos that are also evaluation photos', () => {
    const c = presetConfig('landmarks', join(__dirname, '..'));
    expect(() => checkApart({ ...c, calibration: [c.evaluation[0]] })).toThrow(
      /both a calibration and an evaluation photo/,
    );
  });
});
