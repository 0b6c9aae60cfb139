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
} as const;
