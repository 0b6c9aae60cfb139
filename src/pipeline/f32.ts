/**
 * Binary32 arithmetic as the K210 firmware does it.
 *
 * MaixPy and CanMV are compiled with `-fsingle-precision-constant` for a hardware single-precision
 * FPU, and MicroPython there keeps every Python float as an IEEE binary32. JS numbers are doubles,
 * so every float operation of the C or Python source is mirrored here as `f32(a op b)`: the exact
 * double result of one `+ - * /` on two binary32 values rounds to the same binary32 as the
 * single-precision instruction (double has more than 2·24+2 bits), so the emulation is exact
 * for each unfused step. Where the firmware may fuse a multiply-add (`-ffast-math`), the doc
 * names it and the code keeps the unfused order unless an option says otherwise.
 *
 * `expf`, `sinf`, `atan2` come from newlib on the device and from V8 here; V8's double results
 * are within 1 ulp of double, so after rounding to binary32 they agree with a correctly rounded
 * expf except in rare double-rounding cases. That is the one documented source of a possible
 * 1-ulp difference in the float paths.
 */

export const f32 = Math.fround;

/** `expf(x)` for a binary32 x. */
export function expf(x: number): number {
  return f32(Math.exp(f32(x)));
}

/** `1.0 / (1.0 + expf(-x))` in binary32 (the region layer's and CanMV's `KPU.sigmoid`). */
export function sigmoidF32(x: number): number {
  const e = expf(-f32(x));
  return f32(1 / f32(1 + e));
}

const TWO_32 = 4294967296;
const TWO_31 = 2147483648;

/**
 * A C cast from float to `uint32_t` on RV64 (`fcvt.wu.s …, rtz`): truncation toward zero;
 * the instruction saturates, so values ≤ −1 become 0 (and (−1, 0) truncates to 0), values
 * ≥ 2^32 and NaN become 2^32 − 1.
 */
export function f32ToU32(x: number): number {
  if (Number.isNaN(x)) return TWO_32 - 1;
  if (x >= TWO_32) return TWO_32 - 1;
  if (x <= -1) return 0;
  return Math.trunc(x) + 0; // + 0 turns −0 into 0
}

/** A C cast from float to `int32_t` on RV64 (`fcvt.w.s …, rtz`): truncation, saturating, NaN → 2^31 − 1. */
export function f32ToI32(x: number): number {
  if (Number.isNaN(x)) return TWO_31 - 1;
  if (x >= TWO_31) return TWO_31 - 1;
  if (x <= -TWO_31) return -TWO_31;
  return Math.trunc(x) + 0;
}

/** A C cast from float to `uint8_t`: GCC emits `fcvt.wu.s` then keeps the low 8 bits. */
export function f32ToU8(x: number): number {
  return f32ToU32(x) & 0xff;
}

/** A C cast from float to `uint16_t`: `fcvt.wu.s`, low 16 bits. */
export function f32ToU16(x: number): number {
  return f32ToU32(x) & 0xffff;
}

/** Python's `int(x)` on a float: truncation toward zero; MicroPython raises for NaN/inf. */
export function pyInt(x: number, what = 'value'): number {
  if (!Number.isFinite(x)) throw new RangeError(`int() of a non-finite ${what} (${x}): MicroPython raises here`);
  return Math.trunc(x) + 0;
}

/** Wrap to a signed 16-bit value, as a store into an `int16_t` field does. */
export function toInt16(v: number): number {
  return (v << 16) >> 16;
}
