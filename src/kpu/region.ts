/**
 * Validated typed views of the machine's memories, made once in `prepare` so that steps run
 * without checks. Every view a step uses comes from here.
 */
import { KpuFault } from '../errors.js';
import { checkRange } from './memory.js';

export class Regions {
  constructor(
    private readonly mem: Uint8Array,
    private readonly name: string,
    private readonly where: { layer: number; type: string },
  ) {}

  private check(what: string, address: number, bytes: number): void {
    checkRange(`${what} (${this.name} memory)`, address, bytes, this.mem.length, this.where, 'prepare');
  }

  u8(what: string, address: number, count: number): Uint8Array {
    this.check(what, address, count);
    return this.mem.subarray(address, address + count);
  }

  f32(what: string, address: number, count: number): Float32Array {
    this.check(what, address, count * 4);
    if ((this.mem.byteOffset + address) % 4 !== 0) {
      throw new KpuFault(
        'BAD_LAYER',
        `${what} at byte ${address} of ${this.name} memory is not 4-byte aligned for float32 data`,
        { ...this.where, address },
        'prepare',
      );
    }
    return new Float32Array(this.mem.buffer, this.mem.byteOffset + address, count);
  }
}
