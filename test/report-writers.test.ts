import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KpuConvGeometry } from '../src/kmodel-parser/model.js';
import type { LayerEvent } from '../src/kpu/events.js';
import { profile, type Profile } from '../src/kpu/timing/index.js';
import { chromeTrace, chromeTraceJson, TRACE_TIDS } from '../src/report/chrome-trace.js';
import { csvField, profileCsv, PROFILE_CSV_COLUMNS } from '../src/report/csv.js';
import { profileText } from '../src/report/profile-text.js';
import { niceTicks, profileSvg, xmlEscape } from '../src/report/svg.js';
import { fmtInt, formatTable, groupedInteger } from '../src/report/table.js';
import { convGeometry, kpuConvEvent } from './fixtures/layer-events.js';

const conv = (
  index: number,
  g: KpuConvGeometry,
  inAddr: number,
  outAddr: number,
  transfers: LayerEvent['transfers'] = [],
): LayerEvent => kpuConvEvent(g, { index, type: 'kpu_conv2d', inAddr, outAddr, transfers });

function sample(): Profile {
  const a = convGeometry([3, 16], [320, 240], [160, 120], 3, 1);
  const b = convGeometry([16, 32], [160, 120], [160, 120], 1);
  const events: LayerEvent[] = [
    conv(0, a, 0, 230400, [{ kind: 'upload-dma', bytes: 230400 }]),
    conv(1, b, 230400, 0, [{ kind: 'download-cpu', bytes: 32 * 120 * 160 }]),
    {
      index: 2,
      type: 'dequantize',
      unit: 'CPU',
      inputShapes: [[1, 32, 120, 160]],
      outputShapes: [[1, 32, 120, 160]],
      bytesIn: 614400,
      bytesOut: 4 * 614400,
      macs: 0,
      elements: 614400,
      transfers: [],
    },
    {
      index: 3,
      type: 'a<b>&"c"',
      unit: 'CPU',
      inputShapes: [[10]],
      outputShapes: [[10]],
      bytesIn: 10,
      bytesOut: 10,
      macs: 0,
      elements: 10,
      transfers: [],
    },
  ];
  return profile(events, { main: { modelBytes: 300000, workingBytes: 3000000 } });
}

/**
 * A small well-formedness check of XML: one root, every tag closed in order, attributes quoted,
 * no raw `<` or bare `&` in text or attribute values.
 */
function checkXml(xml: string): { root: string; elements: number; names: Map<string, number> } {
  let s = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const names = new Map<string, number>();
  let root = '';
  let count = 0;
  const entity = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  while (s.length > 0) {
    if (s.startsWith('<!--')) {
      const e = s.indexOf('-->');
      if (e < 0) throw new Error('unterminated comment');
      s = s.slice(e + 3);
      continue;
    }
    if (s.startsWith('</')) {
      const m = /^<\/([A-Za-z_][\w:.-]*)\s*>/.exec(s);
      if (!m) throw new Error(`bad end tag near ${s.slice(0, 40)}`);
      const open = stack.pop();
      if (open !== m[1]) throw new Error(`</${m[1]}> closes <${open}>`);
      s = s.slice(m[0].length);
      continue;
    }
    if (s.startsWith('<')) {
      const m = /^<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(s);
      if (!m) throw new Error(`bad start tag near ${s.slice(0, 60)}`);
      if (entity.test(m[2])) throw new Error(`bare & in attributes of <${m[1]}>`);
      const attrNames = [...m[2].matchAll(/([A-Za-z_][\w:.-]*)\s*=/g)].map((x) => x[1]);
      if (new Set(attrNames).size !== attrNames.length) throw new Error(`duplicate attribute in <${m[1]}>`);
      if (stack.length === 0) {
        if (root) throw new Error('more than one root element');
        root = m[1];
      }
      count++;
      names.set(m[1], (names.get(m[1]) ?? 0) + 1);
      if (!m[3]) stack.push(m[1]);
      s = s.slice(m[0].length);
      continue;
    }
    const next = s.indexOf('<');
    const textPart = next < 0 ? s : s.slice(0, next);
    if (stack.length === 0 && textPart.trim() !== '') throw new Error('text outside the root');
    if (entity.test(textPart)) throw new Error(`bare & in text: ${textPart.slice(0, 40)}`);
    if (textPart.includes('>') && stack.length === 0) throw new Error('stray >');
    s = next < 0 ? '' : s.slice(next);
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (!root) throw new Error('no root element');
  return { root, elements: count, names };
}

describe('Chrome trace writer', () => {
  it('is valid JSON with one event per layer on the KPU or CPU track and an AI SRAM counter', () => {
    const p = sample();
    const doc = JSON.parse(chromeTraceJson(p, 'sample.kmodel')) as ReturnType<typeof chromeTrace>;
    expect(Array.isArray(doc.traceEvents)).toBe(true);
    const layers = doc.traceEvents.filter((e) => e.ph === 'X' && e.cat !== 'transfer');
    expect(layers).toHaveLength(p.layers.length);
    layers.forEach((e, i) => {
      expect(e.args?.index).toBe(i);
      expect(e.tid).toBe(TRACE_TIDS[p.layers[i].unit]);
      expect(e.dur).toBeCloseTo(p.layers[i].ms * 1000, 2);
    });
    // Back to back: each layer starts where the previous ended.
    for (let i = 1; i < layers.length; i++)
      expect(layers[i].ts).toBeCloseTo((layers[i - 1].ts ?? 0) + (layers[i - 1].dur ?? 0), 2);
    const counters = doc.traceEvents.filter((e) => e.ph === 'C');
    expect(counters.map((c) => c.name)).toEqual(Array(p.layers.length + 1).fill('AI SRAM'));
    expect(counters.slice(0, -1).map((c) => c.args?.bytes)).toEqual(p.layers.map((l) => l.ai_sram_bytes));
    const transfers = doc.traceEvents.filter((e) => e.cat === 'transfer');
    expect(transfers.map((t) => t.args?.kind)).toEqual(['upload-dma', 'download-cpu']);
    // A download sits at the end of its layer.
    const l1 = layers[1];
    expect((transfers[1].ts ?? 0) + (transfers[1].dur ?? 0)).toBeCloseTo((l1.ts ?? 0) + (l1.dur ?? 0), 2);
    const threadNames = doc.traceEvents
      .filter((e) => e.ph === 'M' && e.name === 'thread_name')
      .map((e) => e.args?.name);
    expect(threadNames).toContain('KPU');
    expect(threadNames).toContain('CPU');
  });
});

describe('SVG writer', () => {
  it('parses as XML, has a bar per layer in both panels and the 2 MiB line', () => {
    const p = sample();
    const svg = profileSvg(p, 'sample <model> & "friends"');
    const x = checkXml(svg);
    expect(x.root).toBe('svg');
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain('id="limit"');
    expect(svg).toContain('2 MiB AI SRAM');
    expect(svg).toContain('sample &lt;model&gt; &amp; &quot;friends&quot;');
    // time panel: at least one rect per layer; AI SRAM panel: one per layer with bytes live.
    const timeGroup = svg.slice(svg.indexOf('<g id="time">'), svg.indexOf('<g id="ai-sram">'));
    expect((timeGroup.match(/<title>layer /g) ?? []).length).toBe(p.layers.length);
    const sramGroup = svg.slice(svg.indexOf('<g id="ai-sram">'));
    expect((sramGroup.match(/<rect /g) ?? []).length).toBeGreaterThanOrEqual(
      p.layers.filter((l) => l.ai_sram_bytes > 0).length,
    );
  });

  it('stays well-formed for an empty profile and for hundreds of layers', () => {
    checkXml(profileSvg(profile([]), 'empty'));
    const many: LayerEvent[] = Array.from({ length: 400 }, (_, i) => ({
      index: i,
      type: 'binary',
      unit: 'CPU',
      inputShapes: [[100]],
      outputShapes: [[100]],
      bytesIn: 100,
      bytesOut: 100,
      macs: 0,
      elements: 100,
      transfers: [],
    }));
    const x = checkXml(profileSvg(profile(many), 'many'));
    expect(x.elements).toBeGreaterThan(400);
  });

  it('the checker itself rejects broken XML', () => {
    expect(() => checkXml('<svg><g></svg>')).toThrow();
    expect(() => checkXml('<svg>a & b</svg>')).toThrow();
    expect(() => checkXml('<svg x=1/>')).toThrow();
    expect(xmlEscape(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
  });

  it('ticks are round and cover the maximum', () => {
    expect(niceTicks(1.52)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(niceTicks(57.756).at(-1)).toBeGreaterThanOrEqual(57.756);
  });
});

describe('CSV writer and terminal table', () => {
  it('CSV: a header and one row per layer; quoting only where needed', () => {
    const p = sample();
    const csv = profileCsv(p);
    const rows = csv.trimEnd().split('\r\n');
    expect(rows).toHaveLength(p.layers.length + 1);
    expect(rows[0]).toBe(PROFILE_CSV_COLUMNS.join(','));
    expect(rows[1].split(',')[0]).toBe('0');
    expect(rows[4]).toContain('"a<b>&""c"""');
    expect(csvField('x,y')).toBe('"x,y"');
    expect(csvField(0.1 + 0.2)).toBe('0.3');
  });

  it('table: columns padded, numbers right-aligned', () => {
    const t = formatTable(
      [{ header: 'name' }, { header: 'ms', right: true }],
      [
        ['a', '1.000'],
        ['long name', '12.500'],
      ],
    );
    expect(t.split('\n')).toEqual([
      'name           ms',
      '---------  ------',
      'a           1.000',
      'long name  12.500',
      '',
    ]);
  });

  it("integers with thousands separators, as toLocaleString('en-US') writes them", () => {
    const en = (n: number) => n.toLocaleString('en-US');
    for (const n of [0, -0, 7, -7, 999, 1000, -1000, 1234567, 2 ** 53 - 1, 2 ** 53 + 2, 1e21, -9.87e25, 1.5e300])
      expect(groupedInteger(n)).toBe(en(n));
    expect(groupedInteger(Number.MAX_VALUE)).toBe(en(Number.MAX_VALUE));
    expect(groupedInteger(NaN)).toBe(en(NaN));
    expect(fmtInt(-0.4)).toBe(en(Math.round(-0.4)));
    const integers = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => Math.round(x)),
    );
    fc.assert(
      fc.property(integers, (n) => groupedInteger(n) === en(n)),
      { seed: 18, numRuns: 5000 },
    );
  });

  it('profile text: KPU_DEBUG-style totals and the memory peaks', () => {
    const t = profileText(sample());
    expect(t).toMatch(/^KPU: \d+\.\d{3} ms$/m);
    expect(t).toMatch(/^CPU: \d+\.\d{3} ms$/m);
    expect(t).toMatch(/^Model: \d+\.\d{3} ms \(\d+\.\d fps\)/m);
    expect(t).toMatch(/AI SRAM peak: [\d,]+ bytes .* at layer \d+/);
    expect(t).toMatch(/~\d+\.\d{3}/); // the estimated CPU op is marked
    expect(t).toContain('Memory: fits.');
  });
});
