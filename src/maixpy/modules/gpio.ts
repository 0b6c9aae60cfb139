/**
 * `_kpusim_io` (pin mux and GPIO state shared by MaixPy's `Maix` and CanMV's `maix`),
 * `fpioa_manager` and `board`.
 *
 * The BOOT key is pin 16 (`board_info.BOOT_KEY`, active low with a pull-up). A GPIO object
 * sees the key when its function (GPIOHSn = 24 + n, GPIOn = 56 + n, the K210's FPIOA numbers) is
 * mapped to pin 16 (`fm.register(board_info.BOOT_KEY, fm.fpioa.GPIOHS0)`). For a frame listed
 * in `--key-press`, the key is pressed and released before the frame: inside `snapshot()` the
 * falling-edge handlers run, then the rising-edge ones (`IRQ_BOTH` gets both), and `value()`
 * reads 0 until the next snapshot (for scripts that poll the key instead).
 *
 * `--key-press-ms T[:D]` presses the key at board time T for D ms (100 by default): `value()`
 * reads 0 from T to T + D at any time (each read costs the board a little CPU time, so a loop
 * polling the key advances the clock), and the falling-edge handlers run at the first call into
 * kpusim's modules at or after T, the rising-edge ones at or after T + D, as MicroPython runs
 * interrupt handlers between bytecodes.
 */
import type { BoardContext } from '../context.js';
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import type { MaixpyModule } from './types.js';

const ioBackend = {
  /** The BOOT key's level now: down for a `--key-press` frame or during a `--key-press-ms` press. */
  key_down(ctx: BoardContext): boolean {
    const down = ctx.keyDown();
    ctx.clock.cpu(C.gpioRead);
    return down;
  },
};

export const ioModule: MaixpyModule = { file: '_kpusim_io', python: PY._kpusim_io, backend: ioBackend };
export const fpioaManagerModule: MaixpyModule = { file: 'fpioa_manager', python: PY.fpioa_manager, backend: {} };
export const boardModule: MaixpyModule = { file: 'board', python: PY.board, backend: {} };
