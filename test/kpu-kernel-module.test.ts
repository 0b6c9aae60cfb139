/**
 * The conv kernel module's bytes are generated ahead of time (scripts/gen-kernel-module.mjs writes
 * src/kpu/wasm/kernel-module.generated.ts) so no process runs the assembler. This fails when they
 * drift from what src/kpu/wasm/kernels/ assembles now, i.e. a kernel changed without `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildKernelModule } from '../src/kpu/wasm/kernels/index.js';
import { kernelMemorySpec } from '../src/kpu/wasm/kernel-spec.js';
import { kernelModuleBytes } from '../src/kpu/wasm/runtime.js';
import { REPO_ROOT } from './shared.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('the generated kernel module', () => {
  for (const shared of [false, true]) {
    it(`equals the assembler's output for a ${shared ? 'shared' : 'plain'} memory, byte for byte`, () => {
      const built = buildKernelModule(kernelMemorySpec(shared));
      const generated = kernelModuleBytes(shared);
      expect(generated.length).toBe(built.length);
      expect(sha(generated)).toBe(sha(built));
    });
  }

  it('the two memories give different modules (the shared one imports a shared memory)', () => {
    expect(sha(kernelModuleBytes(true))).not.toBe(sha(kernelModuleBytes(false)));
  });

  it('the generator finds its file fresh', () => {
    expect(() =>
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'gen-kernel-module.mjs'), '--check'], {
        stdio: 'pipe',
      }),
    ).not.toThrow();
  });
});
