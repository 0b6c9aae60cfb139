/**
 * `node:vm` in the browser build. The library uses `vm` only for the wall-clock bound of a script
 * (maixpy/sandbox.ts runUntil: `box.result = box.fn()` with a timeout); in the browser the page
 * stops a run itself (the worker is interrupted or ended), so the call runs without a timeout.
 */
interface Box {
  result?: unknown;
  fn: () => unknown;
}

function runInNewContext(code: string, context: { box: Box }): unknown {
  if (code !== 'box.result = box.fn()') throw new Error(`kpusim web: vm.runInNewContext cannot run ${code}`);
  context.box.result = context.box.fn();
  return context.box.result;
}

export default { runInNewContext };
