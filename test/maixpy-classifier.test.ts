/**
 * MaixPy's self-learning classifier (`KPU.classifier`). The numerics against hand-computed
 * values (the fused square-add of the distance, k-means rounds, the saved layout byte by byte),
 * then MaixPy's flow on three faces of examples/images with the bundled face-feature model: the
 * script prints every image's feature, and the test computes the distances and the k-means
 * centres itself in double precision and checks the classifier's answers against them.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifierDistance,
  ClassifierFileError,
  decodeClassifier,
  encodeClassifier,
  trainClassifier,
  type ClassCentre,
} from '../src/maixpy/kpu-classifier.js';
import { TOLERANCES } from '../src/tolerances.js';
import { FIXTURES, REPO, runScript, sdCard } from './fixtures/maixpy/helpers.js';

const F = (...v: number[]) => Float32Array.from(v);
const centre = (...v: number[]): ClassCentre => ({ data: F(...v), filled: true });

describe('classifier numerics', () => {
  it('distance: sqrtf of the fused binary32 sum of squares', () => {
    expect(classifierDistance(F(0, 0), F(3, 4))).toBe(5);
    expect(classifierDistance(F(1, 2, 3), F(1, 2, 3))).toBe(0);
    expect(classifierDistance(F(1, 2), F(1, 2, 3))).toBe(-1);
    // differences 2^-12, 2^-12, 1 + 2^-12: the fused sum is 1 + 2^-11 + 2^-22 (the third square's 2^-24
    // tips a tie), whose sqrtf is 1 + 2^-12 + 2^-23; rounding each square first would give 1 + 2^-12
    const e = 2 ** -12;
    expect(classifierDistance(F(e, e, 1 + e), F(0, 0, 0))).toBe(1 + 2 ** -12 + 2 ** -23);
  });

  it('train: k-means from the class centres until the summed distance stops changing', () => {
    const c = [centre(0), centre(10)];
    expect(trainClassifier(c, 2, [F(1), F(2), F(9), F(12)])).toBe(2);
    expect([c[0]!.data[0], c[1]!.data[0]]).toEqual([1.5, 10.5]);
    // 6 and 7 first go to 10, then to the first centre once 20 pulls the second away
    const d = [centre(0), centre(10)];
    expect(trainClassifier(d, 2, [F(4), F(6), F(7), F(20)])).toBe(3);
    expect([d[0]!.data[0], d[1]!.data[0]]).toEqual([Math.fround(17 / 3), 20]);
    // a centre no sample is nearest to keeps its value
    const g = [centre(0), centre(100)];
    trainClassifier(g, 2, [F(1), F(3)]);
    expect([g[0]!.data[0], g[1]!.data[0]]).toEqual([2, 100]);
  });

  it('save layout: u16 classes, u16 sample_num, then a 16-byte header and the floats per class', () => {
    const bytes = encodeClassifier([F(1, -2)], 15);
    expect([...bytes]).toEqual([
      ...[1, 0, 15, 0], // 1 class, sample_num 15
      ...[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // length 2, index 0, 0.0f, padding
      ...[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], // 1.0f, -2.0f
    ]);
    const back = decodeClassifier(bytes, 2);
    expect(back.sampleNum).toBe(15);
    expect([...back.classes[0]!]).toEqual([1, -2]);
  });

  it('a file that does not hold what it announces: the byte offset and what was expected', () => {
    const bytes = encodeClassifier([F(1, 2), F(3, 4)], 5);
    const fail = (b: Uint8Array, len: number) => {
      try {
        decodeClassifier(b, len);
      } catch (e) {
        expect(e).toBeInstanceOf(ClassifierFileError);
        return (e as ClassifierFileError).offset;
      }
      return null;
    };
    expect(fail(bytes.subarray(0, 3), 2)).toBe(3);
    expect(fail(bytes.subarray(0, bytes.length - 1), 2)).toBe(bytes.length - 1);
    expect(fail(bytes, 1)).toBe(4); // class 0 says 2 values where fea_len is 1
    // a header announcing 65535 classes in a 4-byte file allocates nothing
    expect(fail(Uint8Array.from([0xff, 0xff, 0, 0]), 768)).toBe(4);
  });
});

const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
const nearest = (f: number[], centres: number[][]) => {
  let best = 0;
  centres.forEach((c, j) => {
    if (dist(f, c) < dist(f, centres[best]!)) best = j;
  });
  return { index: best, distance: dist(f, centres[best]!) };
};
const close = (got: number, want: number) =>
  expect(Math.abs(got - want)).toBeLessThanOrEqual(TOLERANCES.classifierDistance.rel * want);

describe('KPU.classifier on three faces with the bundled feature model', () => {
  it('enrols, trains, predicts held-out views, saves and loads as the firmware', async () => {
    const sd = sdCard({
      'grace_hopper.jpg': join(REPO, 'examples/images/grace_hopper.jpg'),
      'astronaut.jpg': join(REPO, 'examples/images/astronaut.jpg'),
      'camera.png': join(REPO, 'examples/images/camera.png'),
    });
    const r = await runScript(join(FIXTURES, 'self_learning_classifier.py'), {
      sdDir: sd,
      flash: [`0x300000=${join(REPO, 'models/face_features512_128.kmodel')}`],
    });
    expect(r.error, r.stderr).toBeUndefined();
    const rows = (tag: string) =>
      r.lines
        .filter((l) => l.startsWith(tag + ' '))
        .map((l) => {
          const m = /^\w+ (\w) (\S+|\(\S+ \S+\))(?: (\[.*\]))?$/.exec(l)!;
          const res = m[2]!.startsWith('(') ? (JSON.parse(m[2]!.replace('(', '[').replace(')', ']')) as number[]) : [];
          return { who: m[1]!, ret: m[2]!, res, feat: m[3] ? (JSON.parse(m[3]) as number[]) : [] };
        });
    const errors = r.lines.filter((l) => /^(OSError|ValueError|no error)/.test(l));
    const classes = rows('class'),
      samples = rows('sample'),
      before = rows('before'),
      after = rows('after');
    const names = 'HAC';
    expect(classes.map((c) => c.ret)).toEqual(['0', '1', '2']);
    expect(samples.map((s) => s.ret)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(classes[0]!.feat).toHaveLength(512);

    // before training the centres are the class images' features
    const seeds = classes.map((c) => c.feat);
    for (const b of before) {
      const want = nearest(b.feat, seeds);
      expect(b.res[0]).toBe(want.index);
      expect(b.res[0]).toBe(names.indexOf(b.who));
      close(b.res[1]!, want.distance);
    }

    // k-means in double from the class images over the six samples
    let centres = seeds.map((c) => [...c]);
    let assign: number[] = [];
    for (let round = 0; round < 100; round++) {
      const next = samples.map((s) => nearest(s.feat, centres).index);
      if (next.join() === assign.join()) break;
      assign = next;
      centres = centres.map((c, j) => {
        const mine = samples.filter((_, i) => assign[i] === j).map((s) => s.feat);
        return mine.length ? c.map((_, k) => mine.reduce((sum, f) => sum + f[k]!, 0) / mine.length) : c;
      });
    }
    expect(after).toHaveLength(before.length);
    after.forEach((a, i) => {
      const want = nearest(before[i]!.feat, centres);
      expect(a.res[0]).toBe(want.index);
      expect(a.res[0]).toBe(names.indexOf(a.who));
      close(a.res[1]!, want.distance);
    });

    expect(errors).toEqual([
      'OSError [Errno 1] EPERM', // predict with no class
      'OSError [Errno 1] EPERM', // train before the classes are set
      'OSError [Errno 1] EPERM', // a fourth class image
      'OSError [Errno 1] EPERM', // a seventh sample
      'OSError [Errno 1] EPERM', // train again: the samples are gone
      'ValueError /sd/short.classifier: not a saved classifier: at byte 2168: expected 3 classes of 2064 bytes each (a 16-byte class header and 512 float32 values): the file ends in class 1',
      "ValueError /sd/len.classifier: not a saved classifier: at byte 4: expected class 0's feature length 512 (fea_len), found 768",
      'OSError [Errno 2] ENOENT',
      // without fea_len the library reads 768 values per class
      'ValueError /sd/faces.classifier: not a saved classifier: at byte 6196: expected 3 classes of 3088 bytes each (a 16-byte class header and 768 float32 values): the file ends in class 2',
    ]);
    expect(r.lines).toContain(`file ${4 + 3 * (16 + 4 * 512)} (3, 6, 512, 0, 0.0)`);
    expect(r.lines).toContain('loaded 3 6 True');
  });
});
