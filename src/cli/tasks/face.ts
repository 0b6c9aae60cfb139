/** `kpusim face detect|recognize`, one image: the sweep task (src/cli/sweep-tasks.ts). */
import { faceImage, faceImageContext, type FaceImageData, type ImageDoc } from '../face.js';
import type { SweepTask } from '../sweep-tasks.js';

export const faceTask: SweepTask<FaceImageData, ReturnType<typeof faceImageContext>, string, ImageDoc> = {
  init: (d) => faceImageContext(d.args, d.names),
  run: (ctx, file, i) => faceImage(ctx, file, i),
};
