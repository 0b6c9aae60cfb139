// Placeholder: the v5 parser defines the full types here.
import type { LayerBase } from '../layer.js';
export interface KmodelV5 {
  readonly version: 5;
  readonly layers: readonly LayerBase[];
}
