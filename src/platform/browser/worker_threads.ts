/**
 * `node:worker_threads` in the browser build: a page's code is never a Node worker thread, so there
 * is no parent port and no worker data (the virtual board's console then runs in a Web Worker that
 * hands it its own scope, web/virtual-board.ts). Node worker threads cannot be started here.
 */
export const parentPort = null;
export const workerData = undefined;
export const isMainThread = true;
export class Worker {
  constructor() {
    throw new Error('worker threads are not available in the browser');
  }
}
