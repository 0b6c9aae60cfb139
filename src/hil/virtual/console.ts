/**
 * What the virtual board's serial console prints that MicroPython's WebAssembly port does not
 * print as a K210 firmware does (docs/virtual-board.md): pure functions over bytes,
 * used by the board's worker.
 */

export type Flavor = 'maixpy' | 'canmv';

/** The firmware's name as its console writes it. */
export function firmwareName(flavor: Flavor): string {
  return flavor === 'canmv' ? 'CanMV' : 'MaixPy';
}

/** `_boot.py`'s first line (MaixPy-v1 and CanMV print it "for IDE"). */
export function initEndLine(flavor: Flavor): string {
  return `[${firmwareName(flavor)}] init end\r\n`;
}

/**
 * The soft-reboot line. Both firmwares write it with a length of 23 bytes: exact for MaixPy's
 * 23-character text, one byte past CanMV's 22 characters (a NUL goes out on the wire).
 */
export function softRebootBytes(flavor: Flavor): Uint8Array {
  const text = `[${firmwareName(flavor)}]: soft reboot\r\n`;
  const out = new Uint8Array(23);
  out.set(new TextEncoder().encode(text).subarray(0, 23));
  return out;
}

/**
 * The port's friendly-REPL banner line names the port ("…; JS with Emscripten"): the board's
 * names the board and the MCU (`MICROPY_HW_BOARD_NAME with MICROPY_HW_MCU_NAME`). The version
 * stays the interpreter's own, so a client can tell the virtual board from a real one.
 */
const PORT_BANNER = /(MicroPython [^\r\n;]*); JS with Emscripten\r\n/g;

export function boardBanner(flavor: Flavor): string {
  return `; kpusim virtual K210 (${firmwareName(flavor)}) with kendryte-k210\r\n`;
}

/**
 * Output cooking: the port prints `\n` where the board's `mp_hal_stdout_tx_strn_cooked` sends
 * `\r\n`; the REPL's own `\r\n` stays as it is. `prev` is the last byte of the previous chunk.
 */
export function cook(bytes: Uint8Array, prev: number): Uint8Array {
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && (i > 0 ? bytes[i - 1] : prev) !== 0x0d) extra++;
  }
  if (extra === 0) return bytes;
  const out = new Uint8Array(bytes.length + extra);
  let j = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && (i > 0 ? bytes[i - 1] : prev) !== 0x0d) out[j++] = 0x0d;
    out[j++] = bytes[i];
  }
  return out;
}

/** Replaces the port's banner line with the board's (on bytes decoded as latin1, so every byte survives). */
export function rebrand(bytes: Uint8Array, flavor: Flavor): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!text.includes('JS with Emscripten')) return bytes;
  const replaced = text.replace(PORT_BANNER, (_m, name: string) => name + boardBanner(flavor));
  return new Uint8Array(Buffer.from(replaced, 'latin1'));
}

export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The raw REPL's prompt line, as v1.11 prints it on entry and on Ctrl-A. */
export const RAW_REPL_BANNER = 'raw REPL; CTRL-B to exit\r\n';

/** MicroPython's "soft reset requested" bit in `replProcessChar`'s result (`PYEXEC_FORCED_EXIT`). */
export const PYEXEC_FORCED_EXIT = 0x100;
