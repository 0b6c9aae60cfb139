import type { Command } from './command.js';

/** Every command, one line each. */
export const COMMANDS: readonly Command[] = [];
