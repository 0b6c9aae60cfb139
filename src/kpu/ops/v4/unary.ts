/**
 * v4 unary (0x0E), float elementwise (kpu-numerics §7.2): abs, ceil, cos, exp, floor, log, neg,
 * rsqrt = 1.f/sqrtf(x), sin, square = x·x. The transcendental ones round the double result
 * once to float (glibc's float versions are correctly rounded in practice; see common.ts).
 */
import { cosf, expf, f32, logf, sinf, sqrtf, unsupported } from '../common.js';

export const UnaryOp = {
  Abs: 0,
  Ceil: 1,
  Cos: 2,
  Exp: 3,
  Floor: 4,
  Log: 5,
  Neg: 6,
  Rsqrt: 7,
  Sin: 8,
  Square: 9,
} as const;
export type UnaryOp = (typeof UnaryOp)[keyof typeof UnaryOp];

export function unaryFn(op: number): (x: number) => number {
  switch (op) {
    case UnaryOp.Abs:
      return Math.abs;
    case UnaryOp.Ceil:
      return Math.ceil;
    case UnaryOp.Cos:
      return cosf;
    case UnaryOp.Exp:
      return expf;
    case UnaryOp.Floor:
      return Math.floor;
    case UnaryOp.Log:
      return logf;
    case UnaryOp.Neg:
      return (x) => -x;
    case UnaryOp.Rsqrt:
      return (x) => f32(1 / sqrtf(x));
    case UnaryOp.Sin:
      return sinf;
    case UnaryOp.Square:
      return (x) => f32(x * x);
    default:
      return unsupported(`unary_op ${op}`);
  }
}

export function unary(src: Float32Array, dst: Float32Array, op: number): void {
  const fn = unaryFn(op);
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = fn(src[i]!);
}
