/** The board link (`kpusim board`): transport, raw REPL, session, board profiles. */
export type { ByteLink } from './link.js';
export { BoardError, BoardPythonError, parseBoardTraceback, type BoardErrorCode } from './errors.js';
export { BOARD_PROFILES, BOARD_PROFILE_NAMES, type BoardProfile, type BoardProfileName } from './profiles.js';
export {
  openSerialLink,
  listSerialPorts,
  SerialLink,
  type SerialLinkOptions,
  type BindingInterface,
} from './serial.js';
export { RawRepl, RAW_BANNER, BOARD_RX_BUFFER, type ExecOptions, type ExecResult } from './raw-repl.js';
export { splitSentinels, preludeCommands, SENTINEL, type HilRecord } from './prelude.js';
export {
  BoardSession,
  crc32Of,
  kmodelVersionsFor,
  type BoardInfo,
  type BoardFile,
  type BoardSessionOptions,
  type Flavour,
  type KpuApi,
  type PutResult,
  type PutProgress,
  type ScriptResult,
} from './session.js';
export { openPort, registerPortScheme, type PortOptions, type PortOpener } from './connect.js';
