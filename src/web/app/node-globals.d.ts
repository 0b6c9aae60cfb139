// The page scripts' view of the `Buffer` global that the browser build injects
// (src/platform/browser/globals.ts) for the library code they import (the HIL client).
import type { Buffer as BufferPolyfill } from 'buffer/';

declare global {
  const Buffer: typeof BufferPolyfill;
  type Buffer = BufferPolyfill;
}

// At run time the package's subarray returns a Buffer, as Node's does; its typings say Uint8Array.
declare module 'buffer/' {
  interface Buffer {
    subarray(start?: number, end?: number): Buffer;
  }
}
