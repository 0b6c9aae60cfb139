/**
 * What a kmodel v3 (nncase 0.1, run by the Kendryte SDK) layer type is: one typed definition per
 * `kpu_model_layer_type_t` value holding its body parser (which also states the tensors' shapes), its MAC count
 * and weight bytes, its executor on the emulated chip and its CPU cost family. The table in `index.ts` is total
 * over the type names, so a type missing any of these fails the type check. The float counterpart lives in
 * `src/reference/v3.ts`, in a table total over the same names. See docs/adding-an-op.md.
 */
import type { BinaryReader } from '../../kmodel-parser/binary-reader.js';
import type { TensorDesc } from '../../kmodel-parser/model.js';
import type { BodyContext, BodyParser, BodyResult } from '../../kmodel-parser/v3/body.js';
import type {
  V3FieldsMap,
  V3Layer,
  V3LayerOfType,
  V3LayerType,
  V3LayerTypeName,
  V3Unit,
} from '../../kmodel-parser/v3/types.js';
import type { TransferEvent } from '../../kpu/events.js';
import type { MachineState, PrepareContext, Step } from '../../kpu/machine.js';
import type { Regions } from '../../kpu/region.js';
import type { CpuCostFamily } from '../../kpu/timing/params.js';
import { isNotApplicable, notApplicable, type NotApplicable } from '../not-applicable.js';

/** What a prepared layer does when run, where its result lands and the data it moves between memories. */
export interface V3Exec {
  readonly exec: () => void;
  readonly output?: Step['output'];
  readonly transfers?: TransferEvent[];
}

/**
 * The executor: resolves the layer's addresses to checked views of the main buffer (`m`) and the AI SRAM (`ai`)
 * once, in prepare, and returns the closure that runs the kernel.
 */
export type V3Prepare<K extends V3LayerType> = (
  l: V3LayerOfType<K>,
  m: Regions,
  ai: Regions,
  s: MachineState,
  ctx: PrepareContext,
) => V3Exec;

export interface V3OpDef<K extends V3LayerType> {
  /** `kpu_model_layer_type_t` value. */
  readonly code: number;
  readonly name: K;
  readonly unit: V3Unit<K>;
  /** Reads the body from a reader limited to it, with the tensors and main-buffer accesses it states. */
  readonly parse: BodyParser<V3FieldsMap[NoInfer<K>]>;
  /** Multiply-accumulates of one run, from the body. */
  readonly macs: ((fields: V3FieldsMap[NoInfer<K>]) => number) | NotApplicable;
  /** Weight bytes `kpusim info` lists for the layer. */
  readonly weightBytes: ((fields: V3FieldsMap[NoInfer<K>]) => number) | NotApplicable;
  /** The CPU cost family the timing model prices it by (docs/architecture.md, adding a timing parameter). */
  readonly cost: CpuCostFamily | NotApplicable;
  /** The executor, or why the SDK's runtime does not run the type (preparing such a model fails). */
  readonly prepare: V3Prepare<NoInfer<K>> | NotApplicable;
}

/** A known `kpu_model_layer_type_t` value whose body layout no source defines: parsing one fails with the reason. */
export interface V3UndefinedType<K extends V3LayerTypeName> {
  readonly code: number;
  readonly name: K;
  readonly undefinedBody: string;
}

/** Where a layer's body sits, from its header. */
export interface V3LayerPlace {
  readonly index: number;
  readonly code: number;
  readonly offset: number;
  readonly bodySize: number;
}

/** One parsed body: what the shape pass needs, and the layer once the shapes are known. */
export interface V3ParsedBody<K extends V3LayerType> {
  readonly result: BodyResult;
  readonly layer: (
    place: V3LayerPlace,
    inputs: readonly TensorDesc[],
    outputs: readonly TensorDesc[],
  ) => V3LayerOfType<K>;
}

/** Any type's body reader, as the parser calls it: the layer it assembles is one of `V3Layer`. */
export type V3BodyReader = (
  r: BinaryReader,
  ctx: BodyContext,
) => {
  readonly result: BodyResult;
  readonly layer: (place: V3LayerPlace, inputs: readonly TensorDesc[], outputs: readonly TensorDesc[]) => V3Layer;
};

export interface V3OpEntry<K extends V3LayerType> extends V3OpDef<K> {
  /** Parses the body and assembles the typed layer: the head, the body's fields, the MACs and the tensors. */
  readonly read: (r: BinaryReader, ctx: BodyContext) => V3ParsedBody<K>;
}

/** Infers the type name from the definition's `name` and adds the typed layer assembly. */
export function defineV3Op<K extends V3LayerType>(def: V3OpDef<K>): V3OpEntry<K> {
  const read = (r: BinaryReader, ctx: BodyContext): V3ParsedBody<K> => {
    const result = def.parse(r, ctx);
    const macs = isNotApplicable(def.macs) ? undefined : def.macs(result.fields);
    return {
      result,
      layer: (place, inputs, outputs) => ({
        index: place.index,
        type: def.name,
        code: place.code,
        offset: place.offset,
        bodySize: place.bodySize,
        unit: def.unit,
        ...result.fields,
        ...(macs !== undefined ? { macs } : {}),
        inputs,
        outputs,
      }),
    };
  };
  return { ...def, read };
}

export function defineV3Undefined<K extends V3LayerTypeName>(code: number, name: K, why: string): V3UndefinedType<K> {
  return { code, name, undefinedBody: why };
}

// ---- helpers the definitions share ----

export const NO_WEIGHTS = notApplicable('the layer has no weights');
export const NO_MACS = notApplicable('moves or maps values; no multiply-accumulates');
export const SDK_LACKS = notApplicable("the K210 SDK's runtime (kpu.c ai_step) has no case for it");

/** A result written to the main buffer. */
export const mainOut = (address: number, bytes: number, desc?: TensorDesc): Step['output'] => ({
  memory: 'main',
  address,
  bytes,
  desc,
});
