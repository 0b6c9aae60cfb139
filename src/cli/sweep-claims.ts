/**
 * An item's claim flag (one Int32 per item in memory a sweep shares with its workers): 0 while no
 * thread has started the item; the thread that swaps it to 1 runs it (src/cli/sweep.ts).
 */
export const UNCLAIMED = 0;
