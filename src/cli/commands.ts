import type { Command } from './command.js';
import { infoCommand } from './info.js';
import { runCommand } from './run.js';

/** Every command, one line each. */
export const COMMANDS: readonly Command[] = [infoCommand, runCommand];
