/**
 * Peak resident memory of one model's emulated run, measured in a process of its own (so the
 * benchmark's TensorFlow.js heap does not count): `node dist/bench/rss.js <model> [wasm|js]` prints
 * `{ rss_mb }`. RSS is sampled after every layer.
 */
import { prepare } from '../kpu/interpreter.js';
import { loadKmodel } from '../load.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node dist/bench/rss.js <model>\n');
  process.exit(2);
}
let peak = process.memoryUsage().rss;
const kernel = process.argv[3] === 'js' || process.argv[3] === 'wasm' ? process.argv[3] : undefined;
const p = prepare(loadKmodel(file).model, kernel ? { kpuKernel: kernel } : {});
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
p.run(
  p.inputs.map((d) => new Uint8Array(d.bytes).fill(128)),
  { onLayer: sample },
);
sample();
process.stdout.write(JSON.stringify({ rss_mb: Math.round((peak / 1024 / 1024) * 10) / 10 }) + '\n');
