/**
 * kmodel v3 (nncase 0.1.x, run by the Kendryte SDK's `kpu.c`): the typed, frozen result of
 * `parseV3`. Field names are the SDK's (`kpu.h`: `kpu_kmodel_header_t`, `kpu_model_*_argument_t`)
 * so both code bases can be grepped side by side. kpu-numerics §2 and §10.
 *
 * Typed arrays (weights, tables) are zero-copy views of the file or small copies; they cannot be
 * frozen by JavaScript, so treat them as read-only. Everything else is frozen.
 */
import type { LayerBase } from '../layer.js';
import type { KpuConvParams, TensorDesc } from '../model.js';

/** `kpu_kmodel_header_t` without `version` (28 bytes with it). */
export interface KmodelV3Header {
  /** bit0 = 1: 8-bit weights (the KPU's `eight_bit_mode`); 0: 16-bit weights. No other bit is defined. */
  readonly flags: number;
  /** Always 0. */
  readonly arch: number;
  readonly layers_length: number;
  /** Lowest AI SRAM line (64-byte unit) the allocator used; 32768 means the KPU RAM is unused. */
  readonly max_start_address: number;
  /** Bytes of the runtime's main buffer; every main-memory address is an offset in it. */
  readonly main_mem_usage: number;
  readonly output_count: number;
}

/** The model input: where the runtime puts it (byte address in AI SRAM or in the main buffer). */
export interface KmodelV3Input extends TensorDesc {
  readonly memory: 'kpu' | 'main';
  /**
   * Byte address: `image_src_addr`·64 in AI SRAM for a K210_CONV first layer, `main_mem_in_address` for
   * FULLY_CONNECTED.
   */
  readonly address: number;
}

/** `kpu_model_output_t` plus the shape inferred from the layer that writes that address. */
export interface KmodelV3Output extends TensorDesc {
  /** Byte offset in the main buffer. */
  readonly address: number;
  /** Bytes (the 0.1 generator writes element_count·4). */
  readonly size: number;
}

/** `kpu_model_shape_t`. */
export interface V3Shape {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** `kpu_model_quant_param_t`: real = q·scale + bias. */
export interface V3QuantParam {
  readonly scale: number;
  readonly bias: number;
}

/** `kpu_model_memory_range_t` (netron calls `size` "end"; the SDK copies `size` bytes). */
export interface V3MemoryRange {
  readonly start: number;
  readonly size: number;
}

/** `kpu_model_activation_t`. */
export type V3Activation = 0 | 1 | 2;

/** Upstream names of `kpu_model_layer_type_t` (kpu-numerics §2.5), plus netron's 1000–1003. */
export type V3LayerTypeName =
  | 'INVALID'
  | 'ADD'
  | 'QUANTIZED_ADD'
  | 'GLOBAL_MAX_POOL2D'
  | 'QUANTIZED_GLOBAL_MAX_POOL2D'
  | 'GLOBAL_AVERAGE_POOL2D'
  | 'QUANTIZED_GLOBAL_AVERAGE_POOL2D'
  | 'MAX_POOL2D'
  | 'QUANTIZED_MAX_POOL2D'
  | 'AVERAGE_POOL2D'
  | 'QUANTIZED_AVERAGE_POOL2D'
  | 'QUANTIZE'
  | 'DEQUANTIZE'
  | 'REQUANTIZE'
  | 'L2_NORMALIZATION'
  | 'SOFTMAX'
  | 'CONCAT'
  | 'QUANTIZED_CONCAT'
  | 'FULLY_CONNECTED'
  | 'QUANTIZED_FULLY_CONNECTED'
  | 'TENSORFLOW_FLATTEN'
  | 'QUANTIZED_TENSORFLOW_FLATTEN'
  | 'RESIZE_NEAREST_NEIGHBOR'
  | 'QUANTIZED_RESIZE_NEAREST_NEIGHBOR'
  | 'CHANNELWISE_DEQUANTIZE'
  | 'LOGISTIC'
  | 'CONV'
  | 'DWCONV'
  | 'QUANTIZED_RESHAPE'
  | 'RESHAPE'
  | 'K210_CONV'
  | 'K210_ADD_PADDING'
  | 'K210_REMOVE_PADDING'
  | 'K210_UPLOAD';

/** The body's leading word: bit0 = KLF_MAIN_MEM_OUT. */
interface V3Flags {
  readonly flags: number;
}

/** The bodies that read one main-buffer tensor and write another: flags, then the two addresses. */
export interface V3InOutFields extends V3Flags {
  readonly main_mem_in_address: number;
  readonly main_mem_out_address: number;
}

export interface V3AddFields extends V3Flags {
  readonly main_mem_in_a_address: number;
  readonly main_mem_in_b_address: number;
  readonly main_mem_out_address: number;
  readonly count: number;
}

export interface V3QuantizedAddFields extends V3AddFields {
  readonly in_a_offset: number;
  readonly in_a_mul: number;
  readonly in_a_shift: number;
  readonly in_b_offset: number;
  readonly in_b_mul: number;
  readonly in_b_shift: number;
  readonly out_offset: number;
  readonly out_mul: number;
  readonly out_shift: number;
}

export interface V3GlobalAveragePool2dFields extends V3InOutFields {
  /** H·W of the input. */
  readonly kernel_size: number;
  readonly channels: number;
}

export interface V3Pool2dFields extends V3InOutFields {
  readonly in_shape: V3Shape;
  readonly out_shape: V3Shape;
  readonly kernel_width: number;
  readonly kernel_height: number;
  readonly stride_width: number;
  readonly stride_height: number;
  readonly padding_width: number;
  readonly padding_height: number;
}

/**
 * `kpu_model_ave_pool2d_layer_argument_t`; the SDK ignores `act`. The float MAX_POOL2D has the same fields: the
 * SDK has no case for it, and nncase 0.1 writes these.
 */
export interface V3Pool2dActFields extends V3Pool2dFields {
  readonly act: V3Activation;
}

export interface V3QuantizeFields extends V3Flags {
  readonly main_mem_in_address: number;
  /** (sic: the SDK names it without "main_"; it is a main-buffer offset) */
  readonly mem_out_address: number;
  readonly count: number;
  readonly quant_param: V3QuantParam;
}

export interface V3DequantizeFields extends V3InOutFields {
  readonly count: number;
  readonly quant_param: V3QuantParam;
}

export interface V3RequantizeFields extends V3InOutFields {
  readonly count: number;
  /** 256 entries: out = table[in]. */
  readonly table: Uint8Array;
}

/** L2_NORMALIZATION, SOFTMAX, LOGISTIC (where `channels` is the element count). */
export interface V3ChannelsFields extends V3InOutFields {
  readonly channels: number;
}

export interface V3ConcatFields extends V3Flags {
  readonly main_mem_out_address: number;
  readonly input_count: number;
  readonly inputs_mem: readonly V3MemoryRange[];
}

export interface V3FullyConnectedFields extends V3InOutFields {
  readonly in_channels: number;
  readonly out_channels: number;
  readonly act: V3Activation;
  /** out_channels·in_channels floats, one row per output channel: index oc·in_channels + ic. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

/** TENSORFLOW_FLATTEN; QUANTIZED_TENSORFLOW_FLATTEN (no generator writes it, the SDK lacks the case) likewise. */
export interface V3FlattenFields extends V3InOutFields {
  readonly shape: V3Shape;
}

export interface V3ResizeFields extends V3InOutFields {
  readonly in_shape: V3Shape;
  readonly out_width: number;
  readonly out_height: number;
  /** Ignored by the SDK. */
  readonly align_corners: number;
}

export interface V3ChannelwiseDequantizeFields extends V3InOutFields {
  readonly channels: number;
  readonly channel_size: number;
  readonly quant_params: readonly V3QuantParam[];
}

export interface V3K210ConvFields extends V3Flags {
  /**
   * Meaningful when flags bit0: the dense CHW result is also copied here (and still written to AI SRAM, kpu-numerics
   * §10 C6).
   */
  readonly main_mem_out_address: number;
  /** Absolute file offsets as stored (also in `kpu.fileOffsets`). */
  readonly layer_offset: number;
  readonly weights_offset: number;
  readonly bn_offset: number;
  readonly act_offset: number;
  readonly kpu: KpuConvParams;
}

export interface V3K210AddPaddingFields extends V3Flags {
  readonly main_mem_in_address: number;
  /** AI SRAM line index (×64 = byte address). */
  readonly kpu_mem_out_address: number;
  readonly channels: number;
}

export interface V3K210RemovePaddingFields extends V3InOutFields {
  readonly channels: number;
}

export interface V3K210UploadFields extends V3Flags {
  readonly main_mem_in_address: number;
  /** AI SRAM line index (×64 = byte address). */
  readonly kpu_mem_out_address: number;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/**
 * The body fields of every v3 layer type that has a body layout, by type name. Its keys are the types a model can
 * hold; the other names of `V3LayerTypeName` are known values without a layout, rejected by the parser.
 */
export interface V3FieldsMap {
  ADD: V3AddFields;
  QUANTIZED_ADD: V3QuantizedAddFields;
  GLOBAL_AVERAGE_POOL2D: V3GlobalAveragePool2dFields;
  MAX_POOL2D: V3Pool2dActFields;
  QUANTIZED_MAX_POOL2D: V3Pool2dFields;
  AVERAGE_POOL2D: V3Pool2dActFields;
  QUANTIZE: V3QuantizeFields;
  DEQUANTIZE: V3DequantizeFields;
  REQUANTIZE: V3RequantizeFields;
  L2_NORMALIZATION: V3ChannelsFields;
  SOFTMAX: V3ChannelsFields;
  CONCAT: V3ConcatFields;
  QUANTIZED_CONCAT: V3ConcatFields;
  FULLY_CONNECTED: V3FullyConnectedFields;
  TENSORFLOW_FLATTEN: V3FlattenFields;
  QUANTIZED_TENSORFLOW_FLATTEN: V3FlattenFields;
  RESIZE_NEAREST_NEIGHBOR: V3ResizeFields;
  QUANTIZED_RESIZE_NEAREST_NEIGHBOR: V3ResizeFields;
  CHANNELWISE_DEQUANTIZE: V3ChannelwiseDequantizeFields;
  LOGISTIC: V3ChannelsFields;
  K210_CONV: V3K210ConvFields;
  K210_ADD_PADDING: V3K210AddPaddingFields;
  K210_REMOVE_PADDING: V3K210RemovePaddingFields;
  K210_UPLOAD: V3K210UploadFields;
}

/** The v3 layer types a model can hold (those with a body layout). */
export type V3LayerType = keyof V3FieldsMap;

/** K210_CONV runs on the KPU; every other v3 layer on the RISC-V cores. */
export type V3Unit<K extends V3LayerType> = K extends 'K210_CONV' ? 'KPU' : 'CPU';

/** What every v3 layer has before its body's fields: LayerBase with its type and unit. */
export interface V3LayerHead<K extends V3LayerType> extends LayerBase {
  readonly type: K;
  readonly unit: V3Unit<K>;
}

/** What every v3 layer has after its body's fields: its tensors, with the shapes the parser could find. */
export interface V3LayerIo {
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
}

/** One parsed layer of type K: the common head, the fields of its body flattened as the SDK names them, the tensors. */
export type V3LayerOfType<K extends V3LayerType> = V3LayerHead<K> & V3FieldsMap[K] & V3LayerIo;

export type V3Layer = { [K in V3LayerType]: V3LayerOfType<K> }[V3LayerType];

export type V3K210ConvLayer = V3LayerOfType<'K210_CONV'>;

export interface KmodelV3 {
  readonly version: 3;
  readonly generation: 'nncase 0.1';
  readonly header: KmodelV3Header;
  /** Header flags bit0: 8-bit weights when set, 16-bit otherwise (kpu-numerics §6.10). */
  readonly weightBits: 8 | 16;
  /** = header.main_mem_usage. */
  readonly mainMemBytes: number;
  readonly inputs: readonly KmodelV3Input[];
  readonly outputs: readonly KmodelV3Output[];
  readonly layers: readonly V3Layer[];
  /**
   * Bytes after the end of the last body (ignored, kpu-numerics §10 C3); negative when the last body's padding is
   * missing.
   */
  readonly trailingBytes: number;
}
