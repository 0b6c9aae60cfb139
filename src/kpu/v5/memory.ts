/**
 * The address space a stackvm function sees. nncase's stackvm pushes host pointers
 * (`LEA_BUFFER` = base of a buffer + offset) and its tensor kernels dereference them. We give
 * every buffer a virtual base at a distinct multiple of 2^32, so addresses stay exact as
 * Numbers and a pointer resolves to exactly one buffer; anything else is a KpuFault.
 */
import { KpuFault } from '../../errors.js';

export const BLOCK_SPAN = 2 ** 32;

/** A buffer of the emulated machine (a module's data pool, rdata, an input, an output). */
export interface MemBlock {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly writable: boolean;
  /** Bumped on every write, so trace hashes are recomputed only for buffers that changed. */
  version: number;
  /** A block that is a window of another (a callee's view of its caller's tensor). */
  readonly parent?: MemBlock;
}

export function memBlock(name: string, bytes: Uint8Array, writable = true, parent?: MemBlock): MemBlock {
  return { name, bytes, writable, version: 0, parent };
}

/** Records a write to the block (and to the block it is a window of). */
export function touch(b: MemBlock): void {
  b.version++;
  if (b.parent) touch(b.parent);
}

export interface Resolved {
  readonly block: MemBlock;
  /** Byte offset inside the block. */
  readonly offset: number;
}

type Ctx = { layer?: number; type?: string };

export class AddressSpace {
  private readonly blocks: MemBlock[] = [];

  /** Maps a block and returns its virtual base address. */
  map(block: MemBlock): number {
    this.blocks.push(block);
    return this.blocks.length * BLOCK_SPAN;
  }

  /** The block holding `address` (one past the end counts, for empty tensors). */
  resolve(address: number, context: Ctx = {}): Resolved {
    const k = Math.floor(address / BLOCK_SPAN) - 1;
    const b = this.blocks[k];
    const offset = address - (k + 1) * BLOCK_SPAN;
    if (!Number.isSafeInteger(address) || !b || offset > b.bytes.length) {
      throw new KpuFault(
        'OUT_OF_RANGE',
        `address 0x${Math.max(0, address).toString(16)} points into no buffer of the stackvm function`,
        { ...context, address },
      );
    }
    return { block: b, offset };
  }

  /** Resolves and checks that `size` bytes from `address` lie inside one block. */
  span(address: number, size: number, write: boolean, context: Ctx = {}): Resolved {
    const p = this.resolve(address, context);
    if (p.offset + size > p.block.bytes.length) {
      throw new KpuFault(
        'OUT_OF_RANGE',
        `${size} bytes at offset ${p.offset} of ${p.block.name} run past its end (${p.block.bytes.length} bytes)`,
        {
          ...context,
          address,
          size,
        },
      );
    }
    if (write && !p.block.writable)
      throw new KpuFault('OUT_OF_RANGE', `${p.block.name} is read-only`, { ...context, address, size });
    return p;
  }
}
