import type { BinaryReader } from '../binary-reader.js';
import { V5_DATATYPES, type MemoryRangeV5 } from './types.js';

/** Reads a v5 `memory_range` (12 bytes). The datatype code is kept raw; `dtype` names it when known. */
export function readMemoryRange(r: BinaryReader): MemoryRangeV5 {
  const fileOffset = r.position;
  const location = r.u8('memory_range.location');
  const datatype = r.u8('memory_range.datatype');
  const sharedModule = r.u16('memory_range.shared_module');
  const start = r.u32('memory_range.start');
  const size = r.u32('memory_range.size');
  return Object.freeze({ location, datatype, dtype: V5_DATATYPES[datatype], sharedModule, start, size, fileOffset });
}
