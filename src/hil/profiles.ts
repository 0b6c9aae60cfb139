/**
 * DTR/RTS wiring of K210 boards, named as kflash names them (README.md, "With a board").
 *
 * On a Sipeed Dock or Bit (`dan`, `bit`) RTS asserted alone holds the chip in reset and DTR asserted
 * alone pulls IO16 (BOOT) low; releasing reset while DTR is asserted enters the ROM's ISP mode. The
 * KD233 and Maix Go with open-ec (`kd233`, `goE`) swap the two lines. The old CMSIS-DAP Maix Go
 * (`goD`) is inverted: the running state is both lines asserted. `none` touches nothing the
 * operating system does not: both lines released.
 */
export interface Signals {
  readonly dtr: boolean;
  readonly rts: boolean;
}

export interface BoardProfile {
  readonly name: BoardProfileName;
  readonly describe: string;
  /** The lines while the board runs (set right after the port opens and kept). */
  readonly idle: Signals;
  /** A hard reset into the firmware (never into ISP): states held ~100 ms each, ending in `idle`. */
  readonly resetToBoot: readonly Signals[];
}

export const BOARD_PROFILE_NAMES = ['none', 'dan', 'bit', 'goE', 'kd233', 'goD'] as const;
export type BoardProfileName = (typeof BOARD_PROFILE_NAMES)[number];

const RELEASED: Signals = { dtr: false, rts: false };
const danReset: readonly Signals[] = [RELEASED, { dtr: false, rts: true }, RELEASED];
const kd233Reset: readonly Signals[] = [RELEASED, { dtr: true, rts: false }, RELEASED];

export const BOARD_PROFILES: Readonly<Record<BoardProfileName, BoardProfile>> = {
  none: {
    name: 'none',
    describe: 'leave DTR and RTS released (no reset wiring assumed)',
    idle: RELEASED,
    resetToBoot: [],
  },
  dan: {
    name: 'dan',
    describe: 'Sipeed Maix Dock (CH340: RTS = reset, DTR = BOOT)',
    idle: RELEASED,
    resetToBoot: danReset,
  },
  bit: { name: 'bit', describe: 'Sipeed Maix Bit (wired as the Dock)', idle: RELEASED, resetToBoot: danReset },
  goE: {
    name: 'goE',
    describe: 'Maix Go with open-ec / new CMSIS-DAP, Maixduino (DTR = reset, RTS = BOOT)',
    idle: RELEASED,
    resetToBoot: kd233Reset,
  },
  kd233: {
    name: 'kd233',
    describe: 'Kendryte KD233 (DTR = reset, RTS = BOOT)',
    idle: RELEASED,
    resetToBoot: kd233Reset,
  },
  goD: {
    name: 'goD',
    describe: 'Maix Go with the old CMSIS-DAP firmware (inverted: both lines asserted = run)',
    idle: { dtr: true, rts: true },
    resetToBoot: [RELEASED, { dtr: true, rts: false }, { dtr: true, rts: true }],
  },
};
