/**
 * Messages between the board page and its Web Worker (web/worker.ts), and the layout of the
 * shared memory they use while a script runs (the page cannot post into a worker that is busy
 * running Python, so Stop, the BOOT key and webcam frames go through a `SharedArrayBuffer`,
 * available when the page is cross-origin isolated, as `kpusim web` serves it).
 */

/** Control words (Int32Array over `control`). */
export const CONTROL = {
  /** Set to 1 by the page: raise KeyboardInterrupt in the script. */
  STOP: 0,
  /** Incremented by the page at each BOOT key press. */
  KEY: 1,
  /** Webcam frame sequence: odd while the page writes the frame, even when it is complete. */
  SEQ: 2,
  /** Webcam frame width and height. */
  WIDTH: 3,
  HEIGHT: 4,
  WORDS: 8,
} as const;

/** The largest webcam frame the page hands over (RGBA). */
export const LIVE_MAX_W = 640;
export const LIVE_MAX_H = 480;
/** The webcam frames a run hands back to the page for saving (the first ones). */
export const WEBCAM_FRAMES_KEPT = 120;

export interface RunRequest {
  readonly t: 'run';
  /** The script's name (tracebacks name it) and text. */
  readonly script: string;
  readonly source: string;
  /** Camera files (paths in the worker's memory file system after `files` are put there). */
  readonly camera: readonly string[];
  /** `--flash` specs (`ADDR=PATH`, `PKG.kfpkg`). */
  readonly flash: readonly string[];
  /** Files for the memory file system (camera images, dropped models, the SD card). */
  readonly files: readonly { readonly path: string; readonly bytes: Uint8Array }[];
  /** The SD card folder in the memory file system, when the user filled one. */
  readonly sd?: string;
  /** Frame numbers before which the BOOT key is pressed (as `--key-press`). */
  readonly keyPress?: readonly number[];
  /** Use the webcam frames of `live` instead of camera files. */
  readonly webcam?: boolean;
  /** Stop after this many frames (as `--frames`). */
  readonly frames?: number;
  /** Control words and the webcam frame (see CONTROL); absent when the page is not cross-origin isolated. */
  readonly control?: SharedArrayBuffer;
  readonly live?: SharedArrayBuffer;
}

/** The model page: what `kpusim info` and `kpusim profile` say about a model file. */
export interface InspectRequest {
  readonly t: 'inspect';
  /** The file's name and bytes; `inner` picks a kmodel in a .kfpkg (`pkg.kfpkg#inner`). */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly inner?: string;
}

/** The model page's "run on an image": `kpusim run` on an image, and what the outputs mean. */
export interface ModelRunRequest {
  readonly t: 'run-model';
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly inner?: string;
  readonly image: { readonly name: string; readonly bytes: Uint8Array };
  /** `--resize` (how an image of another size becomes the input). */
  readonly resize: 'stretch' | 'fit' | 'crop';
  /**
   * auto: YOLOX when output 0 is a YOLOX head, top classes when it is a vector, else the raw
   * tensor; region: a YOLOv2 region layer with a preset's (or the given) anchors, threshold, NMS.
   */
  readonly decode:
    | { readonly kind: 'auto' | 'raw' | 'classify' | 'yolox' }
    | {
        readonly kind: 'region';
        readonly preset?: string;
        readonly anchors?: readonly number[];
        readonly threshold?: number;
        readonly nms?: number;
      };
}

export interface ModelRunReport {
  readonly decoded: 'raw' | 'classify' | 'yolox' | 'region';
  /** outputs.json as `kpusim run` writes it. */
  readonly doc: Record<string, unknown>;
  /** output_<i>.bin. */
  readonly outputs: readonly Uint8Array[];
  /** The first real values of each output. */
  readonly shown: readonly (readonly number[])[];
  /** Boxes x0,y0,x1,y1 in network-input pixels, and in the image's pixels when it was resized. */
  readonly detections?: readonly {
    readonly label: number;
    readonly score: number;
    readonly box: readonly number[];
    readonly image_box: readonly number[] | null;
  }[];
  readonly top?: readonly { readonly label: number; readonly value: number }[];
}

export interface InspectReport {
  /** The spec as the CLI would name it (`name` or `name#inner`). */
  readonly spec: string;
  /** `kpusim info` (text and JSON). */
  readonly infoText: string;
  readonly info: Record<string, unknown>;
  /** `kpusim profile` (text and JSON), its picture (SVG) and its Chrome trace; null for a package. */
  readonly profileText: string | null;
  readonly profile: Record<string, unknown> | null;
  readonly svg: string | null;
  readonly trace: string | null;
}

export interface BoardFigures {
  readonly frames: number;
  readonly board_ms: number;
  readonly parts: {
    readonly kpu: number;
    readonly cpu: number;
    readonly lcd: number;
    readonly camera: number;
    readonly sleep: number;
  };
  /** Wall-clock time of the run so far on this PC (ms). */
  readonly pc_ms: number;
}

export type WorkerReply =
  | { readonly t: 'ready' }
  | { readonly t: 'out'; readonly text: string }
  | { readonly t: 'err'; readonly text: string }
  | {
      readonly t: 'lcd';
      readonly width: number;
      readonly height: number;
      readonly rgb: Uint8Array;
      readonly figures: BoardFigures;
    }
  | {
      readonly t: 'done';
      readonly exitCode: number;
      readonly reason: string;
      readonly summary: string;
      readonly figures: BoardFigures;
      readonly error?: {
        readonly type: string;
        readonly message: string;
        readonly line?: number;
        readonly traceback: string;
      };
    }
  /**
   * A webcam frame the script took (RGB, as handed to the camera), so the run can be repeated with
   * `kpusim maixpy --camera` on the same frames; at most `WEBCAM_FRAMES_KEPT` a run.
   */
  | { readonly t: 'webcam-frame'; readonly width: number; readonly height: number; readonly rgb: Uint8Array }
  /** The BOOT button was pressed before this frame (the `--key-press` that repeats it). */
  | { readonly t: 'key'; readonly frame: number }
  | { readonly t: 'fatal'; readonly message: string }
  | { readonly t: 'inspected'; readonly report: InspectReport }
  | { readonly t: 'model-ran'; readonly report: ModelRunReport }
  | { readonly t: 'run-model-error'; readonly message: string; readonly code: number }
  /** The CLI's one-line reason and its exit code. */
  | { readonly t: 'inspect-error'; readonly message: string; readonly code: number };
