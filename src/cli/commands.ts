import type { Command } from './command.js';
import { goldenCommand } from './golden.js';
import { infoCommand } from './info.js';
import { runCommand } from './run.js';

/** Every command, one line each. */
export const COMMANDS: readonly Command[] = [infoCommand, runCommand, goldenCommand];
