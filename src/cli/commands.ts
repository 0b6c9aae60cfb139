import type { Command } from './command.js';

/**
 * A command as the top-level parser sees it: its name and description (all `kpusim --help`
 * shows), and where its implementation lives. The module is imported only when the command is
 * the one being run (or asked for its own --help), so a command pays for its own dependencies
 * only (TensorFlow.js, MicroPython, the builder, serial ports, image codecs…). The strings must
 * equal the module's own (test/cli-lazy.test.ts checks).
 */
export interface LazyCommand {
  readonly command: string;
  readonly describe: string;
  load(): Promise<Command>;
}

/** Every command, one entry each. */
export const COMMANDS: readonly LazyCommand[] = [
  {
    command: 'info <model>',
    describe: 'Show a model: format, inputs and outputs, the per-layer table, MACs and memory',
    load: async () => (await import('./info.js')).infoCommand,
  },
  {
    command: 'run <model>',
    describe: 'Run a model on the emulated K210 and write its outputs',
    load: async () => (await import('./run.js')).runCommand,
  },
  {
    command: 'golden <action> <model> [dir]',
    describe: 'Record golden cases of a model, or check a model against recorded (or nncase) goldens',
    load: async () => (await import('./golden.js')).goldenCommand,
  },
  {
    command: 'profile <model>',
    describe: 'Estimate the time of every layer on the board (cycle-approximate model) and the memory it needs',
    load: async () => (await import('./profile.js')).profileCommand,
  },
  {
    command: 'estimate <what>',
    describe: "The timing model's time for one KPU conv layer, without a model file",
    load: async () => (await import('./estimate.js')).estimateCommand,
  },
  {
    command: 'check <model>',
    describe: 'Exit 0 when the model is within the time and memory budgets, 3 with one line per violation (for CI)',
    load: async () => (await import('./check.js')).checkCommand,
  },
  {
    command: 'face <action> [images..]',
    describe:
      'Face detection and recognition as the MaixPy/CanMV demos do it, on the emulated K210 (detect, enroll, recognize; demo: the bundled models on the example photos)',
    load: async () => (await import('./face.js')).faceCommand,
  },
  {
    command: 'maixpy <script>',
    describe:
      'Run a MaixPy or CanMV script unchanged: camera frames from image files, models from --flash / --sd, LCD to PNGs',
    load: async () => (await import('./maixpy.js')).maixpyCommand,
  },
  {
    command: 'compare <model>',
    describe:
      'Compare the emulator with a TensorFlow.js float model reconstructed from the kmodel, layer by layer (exit 3 if a KPU conv layer disagrees in isolation), or with the original float network (--float)',
    load: async () => (await import('./compare.js')).compareCommand,
  },
  {
    command: 'eval <model>',
    describe:
      'The task metric of the emulated kmodel over a labelled image set (top-1/top-5, or precision/recall/mAP@0.5), and of its original float network beside it',
    load: async () => (await import('./eval.js')).evalCommand,
  },
  {
    command: 'build <config>',
    describe:
      'Build K210 kmodel v3 files from pretrained float networks (preset: bundled, detector, landmarks, features; or a JSON config)',
    load: async () => (await import('./build.js')).buildCommand,
  },
  {
    command: 'web',
    describe:
      'Serve the browser app on localhost: the virtual MaixPy board (webcam, LCD, console) and the model inspector',
    load: async () => (await import('./web.js')).webCommand,
  },
  {
    command: 'board',
    describe: 'Hardware in the loop: drive a MaixPy/CanMV board (or the virtual board) over its serial REPL',
    // `board profile` and `board calibrate` live in board-timing.ts, which builds on board.ts's helpers.
    load: async () => {
      const [{ boardCommand }, { boardCalibrateCommand, boardProfileCommand }] = await Promise.all([
        import('./board.js'),
        import('./board-timing.js'),
      ]);
      return {
        ...boardCommand,
        subcommands: [...(boardCommand.subcommands ?? []), boardProfileCommand, boardCalibrateCommand],
      };
    },
  },
];

/** Every command's implementation (for tools that inspect the builders, such as the CLI fuzz test). */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMANDS.map((c) => c.load()));
}
