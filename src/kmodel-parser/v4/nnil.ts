/**
 * nnil, the per-element float stack-machine bytecode of v4 `nnil_unary_method` (kpu-numerics §7.3;
 * opcode values of nncase 0.2's `runtime/nnil.h`). Binary ops pop b then a and push a∘b; clamp
 * pops high, low, then v. Programs are straight-line, so stack depth is checked statically.
 */
import type { BodyContext } from './read.js';
import type { NnilInstruction } from './types.js';

/** opcode → [name, values popped, values pushed]. */
export const NNIL_OPCODES: ReadonlyMap<number, readonly [name: string, pops: number, pushes: number]> = new Map([
  [0x00, ['nop', 0, 0]],
  [0x01, ['dup', 1, 2]],
  [0x02, ['pop', 1, 0]],
  [0x03, ['lda_0', 0, 1]],
  [0x04, ['ldc_r4_0', 0, 1]],
  [0x05, ['ldc_r4_1', 0, 1]],
  [0x06, ['ldc_r4', 0, 1]],
  [0x20, ['abs', 1, 1]],
  [0x21, ['ceil', 1, 1]],
  [0x22, ['cos', 1, 1]],
  [0x23, ['exp', 1, 1]],
  [0x24, ['floor', 1, 1]],
  [0x25, ['log', 1, 1]],
  [0x26, ['neg', 1, 1]],
  [0x27, ['rsqrt', 1, 1]],
  [0x28, ['sin', 1, 1]],
  [0x29, ['square', 1, 1]],
  [0x40, ['add', 2, 1]],
  [0x41, ['sub', 2, 1]],
  [0x42, ['mul', 2, 1]],
  [0x43, ['div', 2, 1]],
  [0x44, ['min', 2, 1]],
  [0x45, ['max', 2, 1]],
  [0x80, ['clamp', 3, 1]],
  [0xa0, ['ret', 1, 0]],
] as const);

export const NNIL_LDC_R4 = 0x06;
export const NNIL_RET = 0xa0;

/**
 * Decodes the program from the reader's position up to and including the first `ret`; the bytes
 * after it are the body's alignment padding and are not decoded. Fails on an unknown opcode, a
 * truncated immediate, a stack underflow or a missing `ret`.
 */
export function decodeNnil(c: BodyContext): { program: NnilInstruction[]; max_stack: number } {
  const r = c.r;
  const program: NnilInstruction[] = [];
  let depth = 0;
  let max = 0;
  while (r.remaining > 0) {
    const at = r.position;
    const opcode = r.u8('nnil opcode');
    const row = NNIL_OPCODES.get(opcode);
    if (!row)
      c.fail(
        'BAD_VALUE',
        `nnil instruction ${program.length}: unknown opcode 0x${opcode.toString(16).padStart(2, '0')}`,
        at,
      );
    const [name, pops, pushes] = row;
    if (depth < pops)
      c.fail(
        'BAD_VALUE',
        `nnil instruction ${program.length} (${name}) pops ${pops} values but the stack holds ${depth}`,
        at,
      );
    depth += pushes - pops;
    max = Math.max(max, depth);
    if (opcode === NNIL_LDC_R4) {
      program.push({ offset: at, opcode, name, value: r.f32('nnil ldc_r4 immediate') });
    } else {
      program.push({ offset: at, opcode, name });
    }
    if (opcode === NNIL_RET) return { program, max_stack: max };
  }
  return c.fail('BAD_VALUE', `the nnil program of ${program.length} instructions has no ret`);
}
