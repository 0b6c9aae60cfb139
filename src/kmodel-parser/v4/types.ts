// Placeholder: the v4 parser defines the full types here.
import type { LayerBase } from '../layer.js';
export interface KmodelV4 {
  readonly version: 4;
  readonly layers: readonly LayerBase[];
}
