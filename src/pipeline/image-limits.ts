/**
 * How large an image kpusim decodes (src/pipeline/image-io.ts), and so what the image cache accepts
 * (src/io/image-cache.ts).
 */

/**
 * The largest image kpusim decodes: 4096×3072 (12.6 MP), more than any K210 camera (at most
 * 5 MP) and a 12 MP phone photo; a K210 model's input is far smaller. Decoding costs about
 * 10–30 bytes per pixel, so the cap keeps a hostile header from costing gigabytes. Stated in
 * the README.
 */
export const MAX_IMAGE_PIXELS = 4096 * 3072;
/** The largest side, so a long strip cannot pass on area alone. */
export const MAX_IMAGE_SIDE = 8192;
