/**
 * The memories the conv kernel module is assembled for: imported as `env.mem`, one page to start,
 * plain (one thread) or shared by two threads (a shared memory declares its largest size, 2 GiB;
 * a layer needs a few MiB). The module's bytes for both are generated ahead of time
 * (`kernel-module.generated.ts`, scripts/gen-kernel-module.mjs).
 */
import type { MemorySpec } from './asm.js';

export const SHARED_MAX_PAGES = 32768;

export function kernelMemorySpec(shared: boolean): MemorySpec {
  return { kind: 'import', pages: 1, shared, maxPages: shared ? SHARED_MAX_PAGES : undefined };
}
