/**
 * The wire between the serial side (main thread) and the board (a worker thread running
 * MicroPython): a receive ring in shared memory and a few shared flags, so that bytes keep
 * arriving, and Ctrl-C keeps working, while Python code runs in the worker and never yields.
 *
 * Layout of the control words (Int32):
 * - STATE: what the board does: IDLE (waiting for a byte), BUSY (handling a byte or booting),
 *   EXEC (running Python code: the moment MaixPy's UART interrupt turns Ctrl-C into
 *   KeyboardInterrupt and its receive ring can overflow);
 * - (word 1 unused)
 * - HEAD / TAIL: the ring's write (main) and read (worker) counters;
 * - SIGNAL: bumped by main after each write, the word the worker waits on;
 * - DROPPED: bytes dropped because the ring was full while code ran (`--uart-buffer`).
 */
export const STATE = 0,
  HEAD = 2,
  TAIL = 3,
  SIGNAL = 4,
  DROPPED = 5;
const CONTROL_WORDS = 8;

export const IDLE = 0,
  BUSY = 1,
  EXEC = 2;

/** Ring size (bytes queued between the serial side and the board when no `--uart-buffer` limit is set). */
export const RING_BYTES = 1 << 20;

/**
 * A ring entry the worker has consumed in place: a Ctrl-C that arrived while code ran, answered
 * with KeyboardInterrupt at once (as MaixPy's UART interrupt does, ahead of the queued bytes).
 */
export const ANSWERED = 0x100;

export interface SharedWire {
  readonly buffer: SharedArrayBuffer;
  readonly control: Int32Array;
  /** One entry per byte: the byte, or ANSWERED. */
  readonly ring: Uint16Array;
}

export function createWire(): SharedWire {
  const buffer = new SharedArrayBuffer(CONTROL_WORDS * 4 + 2 * RING_BYTES);
  return attachWire(buffer);
}

export function attachWire(buffer: SharedArrayBuffer): SharedWire {
  return {
    buffer,
    control: new Int32Array(buffer, 0, CONTROL_WORDS),
    ring: new Uint16Array(buffer, CONTROL_WORDS * 4, RING_BYTES),
  };
}

/**
 * Worker side: replaces every Ctrl-C queued at ring positions [from, HEAD) with ANSWERED; returns
 * how many it found and the position it scanned to.
 */
export function answerCtrlC(w: SharedWire, from: number): { found: number; to: number } {
  const head = Atomics.load(w.control, HEAD);
  const start = Math.max(from, Atomics.load(w.control, TAIL));
  let found = 0;
  for (let i = start; i < head; i++) {
    if (w.ring[i % RING_BYTES] === 0x03) {
      w.ring[i % RING_BYTES] = ANSWERED;
      found++;
    }
  }
  return { found, to: head };
}

/** Bytes in the ring, not yet read by the board. */
export function queued(w: SharedWire): number {
  return Atomics.load(w.control, HEAD) - Atomics.load(w.control, TAIL);
}

/** Main side: append one entry (the caller checks room: `queued(w) < RING_BYTES`). */
export function put(w: SharedWire, byte: number): void {
  const head = Atomics.load(w.control, HEAD);
  w.ring[head % RING_BYTES] = byte;
  Atomics.store(w.control, HEAD, head + 1);
}

/** Main side: wake the board after a batch of `put`s. */
export function signal(w: SharedWire): void {
  Atomics.add(w.control, SIGNAL, 1);
  Atomics.notify(w.control, SIGNAL);
}

/**
 * Worker side: the next entry, waiting for one if the ring is empty (`beforeWait` runs first: the
 * board flushes its output and marks itself idle). Returns -1 if `timeoutMs` passes first.
 */
export function take(w: SharedWire, beforeWait: () => void, timeoutMs = Infinity): number {
  for (;;) {
    const seen = Atomics.load(w.control, SIGNAL);
    const tail = Atomics.load(w.control, TAIL);
    if (Atomics.load(w.control, HEAD) !== tail) {
      const b = w.ring[tail % RING_BYTES];
      Atomics.store(w.control, TAIL, tail + 1);
      return b;
    }
    beforeWait();
    if (Atomics.wait(w.control, SIGNAL, seen, timeoutMs) === 'timed-out') return -1;
  }
}
