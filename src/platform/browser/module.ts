/**
 * `node:module` in the browser build. The library uses `createRequire` only to load jsQR when a
 * MaixPy script first looks for a QR code (maixpy/modules/image-ops.ts, which keeps it out of the
 * command line's start): in the browser jsQR is bundled, and `require('jsqr')` hands over the
 * module as an import of it gives it.
 */
import jsQRModule from 'jsqr';

export function createRequire(_url: string): (id: string) => unknown {
  return (id: string): unknown => {
    if (id !== 'jsqr') throw new Error(`kpusim web: require(${JSON.stringify(id)}) is not available in the browser`);
    return jsQRModule;
  };
}
