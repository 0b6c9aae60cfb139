import { boardCommand } from './board.js';
import { boardCalibrateCommand, boardProfileCommand } from './board-timing.js';
import { buildCommand } from './build.js';
import { checkCommand } from './check.js';
import type { Command } from './command.js';
import { compareCommand } from './compare.js';
import { estimateCommand } from './estimate.js';
import { faceCommand } from './face.js';
import { goldenCommand } from './golden.js';
import { infoCommand } from './info.js';
import { maixpyCommand } from './maixpy.js';
import { profileCommand } from './profile.js';
import { runCommand } from './run.js';

/** Every command, one line each. */
export const COMMANDS: readonly Command[] = [
  infoCommand,
  runCommand,
  goldenCommand,
  profileCommand,
  estimateCommand,
  checkCommand,
  faceCommand,
  maixpyCommand,
  compareCommand,
  buildCommand,
  // `board profile` and `board calibrate` live in board-timing.ts, which builds on board.ts's helpers.
  { ...boardCommand, subcommands: [...(boardCommand.subcommands ?? []), boardProfileCommand, boardCalibrateCommand] },
];
