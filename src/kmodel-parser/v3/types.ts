// Placeholder: the v3 parser defines the full types here.
import type { LayerBase } from '../layer.js';
export interface KmodelV3 {
  readonly version: 3;
  readonly layers: readonly LayerBase[];
}
