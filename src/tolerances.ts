/**
 * Every float tolerance kpusim uses, in one place, each with its reason. Integer outputs are
 * always compared exactly.
 */
export const TOLERANCES = {
  /**
   * `golden check` on float32 outputs: a case that is not byte-identical still passes as
   * "within tolerance" when every element is within this absolute plus relative error. The
   * two numerics modes differ by one float32 rounding per op (FMA vs two roundings), i.e. a few
   * ulps; 1e-5 relative covers tens of ulps, far below any quantisation step of a uint8 map.
   */
  goldenFloat: { abs: 1e-6, rel: 1e-5 },
  /**
   * `compare`, isolated agreement of a layer with a uint8 result (emulator vs the tfjs float
   * reference fed the emulator's own input, re-quantised). The reference removes only the
   * rounding the KPU does (BN floor, activation round, mean-pool floor), so a correct pair
   * differs by at most one step where the float value sits near a rounding boundary: 1 LSB.
   * The cosine of the dequantised maps then stays ≥ 0.999 on any map with real content; a
   * geometry or layout error (wrong tap, channel, pad or pool phase) breaks both at once.
   */
  referenceIsolatedU8: { maxLsb: 1, cosine: 0.999 },
  /**
   * `compare`, isolated agreement of a float32 result. The reference evaluates in float64 /
   * tfjs float32 with its own summation order, the emulator in the board's C float32 order
   * (sequential sums over up to a few thousand terms, expf): differences of a few hundred ulps
   * relative to the terms summed. An element counts as differing beyond abs + rel·|ref|.
   */
  referenceIsolatedFloat: { abs: 1e-4, rel: 1e-3 },
  /**
   * `board profile` on the virtual board, whose clock is the timing model: each timed run (a prefix,
   * or a single-layer model and its trivial model) is read with `time.ticks_us()`, whole microseconds
   * (each reading floors), so a run's median is off by under 1 µs and a layer's difference of two
   * runs by under 2 µs; 2.5 µs leaves room for the 1 ns rounding of the reported figures. A sum over
   * n layers is within n times this.
   */
  virtualBoardLayerMs: { abs: 0.0025 },
  /**
   * `compare --float`, matching a kmodel layer to a tensor of the original float network (kmodels
   * carry no names): among the next `window` float tensors of the right shape, the earliest whose
   * cosine is within `cosine` of the best one. Taking the earliest near-best keeps a fused
   * conv+activation matched to its own activation rather than to a similar map further on (two
   * distinct tensors of one shape rarely agree within 0.005).
   * A candidate whose cosine is more than `maxDrop` below the previous matched layer's is not taken
   * as a counterpart: a quantised layer loses 0.0001–0.02 (measured on the TFLite models of the tests); a same-shaped
   * tensor that is not the
   * layer's counterpart (a KPU conv computed at full resolution before its stride-2 pool, matched
   * to the float stride-2 output) scores 0.3–0.7. Drops smaller than `cosine` are not called a loss.
   * Candidates lie at most `span` float tensors after the previous match: consecutive layers are
   * 1–35 tensors apart in the test models (an ONNX conv with SiLU is three nodes); a layer with no
   * counterpart (that full-resolution conv) must not jump to a far later tensor of its shape and
   * leave every layer in between unmatched.
   */
  floatLayerMatch: { cosine: 0.005, window: 16, maxDrop: 0.2, span: 64 },
  /**
   * `compare --float`: another documented input mapping is reported as fitting better than the one
   * given when it raises the mean output cosine by more than this. A mapping error (x/255 against
   * x/255 − 0.5, or a swapped layout) moves the cosine by 0.05 or more; rounding and ties by far
   * less than 0.01.
   */
  floatMappingMargin: 0.01,
  /**
   * A float kmodel (`--inference-type float`) against its original network: both compute in
   * float32 but in different orders (nncase's loops vs TensorFlow.js kernels), so each output
   * differs by a few ulps of the terms summed: relative 1e-5 with a 1e-5 floor near zero.
   */
  floatModelRounding: { abs: 1e-5, rel: 1e-5 },
  /**
   * MaixPy's `KPU.classifier` distances and k-means centres (binary32 sums over a few hundred
   * features, fused square-adds) against the same quantities computed in double precision from the
   * printed features: a binary32 sum of n terms is within n·2^-24 relative of the exact one
   * (512 terms: 3e-5), so 1e-4 relative; a wrong metric, centre or class differs by far more.
   */
  classifierDistance: { rel: 1e-4 },
  /**
   * A face box found on a webcam frame (the browser test's fake camera, a YUV 4:2:0 video made
   * from an image) against the box found on the image file itself. The video's chroma subsampling
   * and 8-bit YUV rounding, and the browser's conversion back to RGB, move pixel values by a few
   * levels; the detector's box edges then move by a pixel (measured: 1 px), never by a grid cell.
   */
  webcamFaceBoxPx: 2,
} as const;
