/**
 * Whole-model board times that have been published for models in the shared corpus, with where
 * each comes from and whether the built-in parameters were fitted to it. `npm run bench` and the
 * timing tests print the model's error against each; the ones marked `fitted: false` are
 * out-of-sample checks (no parameter in params.ts was set from them).
 *
 * Sources (all at 400 MHz):
 *   [ISS77]  github.com/kendryte/nncase/issues/77: KPU_DEBUG "Model" total of Sipeed's YOLOv2 face
 *            detector, 12.732 ms (its clock starts after the input DMA). Its layers were used to fit the
 *            KPU constants (params.ts), so this row is in-sample.
 *   [PR134]  github.com/Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB/pull/134 (nncase's author):
 *            slim-320 65.6 ms, RFB-320 796.2 ms ("RISC-V 400MHz, 320x240, int8").
 *   [LIN126] Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB issue #126: slim-320 "73 layers,
 *            67ms on k210".
 *   [ISS79]  github.com/kendryte/nncase/issues/79 (2020-01-16, the day after nncase replaced the example's
 *            RFB model): nncase's "RFB-320.kmodel takes only 180ms"; "ultra_face.kmodel … takes around
 *            1sec per frame". The corpus keeps both files: `…rfb320_v4` is RFB-320.kmodel of 2020-01-15,
 *            `…rfb320_2019-12-17_v4` is ultra_face.kmodel. Which of the two [PR134]'s 796.2 ms timed is not
 *            stated; its order of magnitude matches ultra_face.kmodel (INFERRED), so it is listed there.
 */
export interface PublishedBoardTime {
  /** File name in the shared corpus, without `.kmodel`. */
  readonly model: string;
  readonly ms: number;
  readonly source: string;
  /** True when a parameter of params.ts was fitted to this figure (or to the per-layer data behind it). */
  readonly fitted: boolean;
  /** The published clock starts after the input upload (KPU_DEBUG): compare without the model's upload. */
  readonly excludesInputUpload?: boolean;
}

export const PUBLISHED_BOARD_TIMES: readonly PublishedBoardTime[] = [
  {
    model: 'maixpy_face_detect_0x300000_v3',
    ms: 12.732,
    source: '[ISS77] KPU_DEBUG total',
    fitted: true,
    excludesInputUpload: true,
  },
  { model: 'nncase_ultraface_slim320_v4', ms: 65.6, source: '[PR134]', fitted: false },
  { model: 'nncase_ultraface_slim320_v4', ms: 67, source: '[LIN126] ≈', fitted: false },
  { model: 'nncase_ultraface_rfb320_v4', ms: 180, source: '[ISS79]', fitted: false },
  { model: 'nncase_ultraface_rfb320_2019-12-17_v4', ms: 796.2, source: '[PR134] (file INFERRED)', fitted: false },
  { model: 'nncase_ultraface_rfb320_2019-12-17_v4', ms: 1000, source: '[ISS79] "around 1sec"', fitted: false },
];
