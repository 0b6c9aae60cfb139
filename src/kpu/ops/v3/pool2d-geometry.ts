/**
 * The window geometry of the SDK's v3 pooling layers (QUANTIZED_MAX_POOL2D, AVERAGE_POOL2D,
 * and the unverified MAX_POOL2D): CHW planes, window origin (oy·stride − padding), taps
 * clipped to the input. Shapes are the body's (width, height, channels) triples.
 */
export interface Pool2dV3Geometry {
  readonly inWidth: number;
  readonly inHeight: number;
  readonly outWidth: number;
  readonly outHeight: number;
  readonly channels: number;
  readonly kernelWidth: number;
  readonly kernelHeight: number;
  readonly strideWidth: number;
  readonly strideHeight: number;
  readonly paddingWidth: number;
  readonly paddingHeight: number;
}

/**
 * Calls `visit(oc, oy, ox, channelBase, yStart, yEnd, xStart, xEnd, yOrigin, xOrigin)` for
 * every output element in output order. The SDK computes `in_width − in_x_origin` in uint32;
 * for the geometries the compiler emits the origin never exceeds the input, and this
 * signed version agrees with it.
 */
export function forEachPoolWindowV3(
  g: Pool2dV3Geometry,
  visit: (
    outIndex: number,
    channelBase: number,
    yStart: number,
    yEnd: number,
    xStart: number,
    xEnd: number,
    yOrigin: number,
    xOrigin: number,
  ) => void,
): void {
  let o = 0;
  for (let oc = 0; oc < g.channels; oc++) {
    const base = g.inWidth * g.inHeight * oc;
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        const xOrigin = ox * g.strideWidth - g.paddingWidth;
        const yOrigin = oy * g.strideHeight - g.paddingHeight;
        const xStart = Math.max(0, -xOrigin);
        const xEnd = Math.min(g.kernelWidth, g.inWidth - xOrigin);
        const yStart = Math.max(0, -yOrigin);
        const yEnd = Math.min(g.kernelHeight, g.inHeight - yOrigin);
        visit(o++, base, yStart, yEnd, xStart, xEnd, yOrigin, xOrigin);
      }
    }
  }
}
