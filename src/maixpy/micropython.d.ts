/**
 * Types for the parts of `@micropython/micropython-webassembly-pyscript` (MicroPython's official
 * WebAssembly port, PyScript variant) that the MaixPy host uses. The package ships no types.
 */
declare module '@micropython/micropython-webassembly-pyscript' {
  export interface MicroPythonOptions {
    /** Python stack in words (default 2048). */
    pystack?: number;
    /** Bytes of MicroPython GC heap (default 1 MiB). */
    heapsize?: number;
    url?: string;
    stdin?: () => number | null;
    /** With `linebuffer: false`, called with one byte at a time. */
    stdout?: (data: Uint8Array | string) => void;
    stderr?: (data: Uint8Array | string) => void;
    linebuffer?: boolean;
  }

  export interface PyProxyStatic {
    toJs(obj: unknown): unknown;
  }

  export interface EmscriptenFs {
    readonly ErrnoError: new (errno: number) => Error;
    mkdirTree(path: string): void;
    writeFile(path: string, data: string | Uint8Array): void;
    readFile(path: string, opts?: { encoding?: 'binary' }): Uint8Array;
    readdir(path: string): string[];
    stat(path: string): { size: number; mode: number };
    isDir(mode: number): boolean;
  }

  export interface MicroPython {
    readonly _module: unknown;
    readonly PyProxy: PyProxyStatic;
    readonly FS: EmscriptenFs;
    registerJsModule(name: string, module: object): void;
    runPython(code: string): unknown;
    pyimport(name: string): unknown;
    /** Starts the event-driven REPL (`pyexec_event_repl_init`): prints the banner and the prompt. */
    replInit(): void;
    /** Feeds one byte to the REPL (`pyexec_event_repl_process_char`); bit 0x100 set = soft reset asked. */
    replProcessChar(c: number): number;
  }

  export function loadMicroPython(options?: MicroPythonOptions): Promise<MicroPython>;
}
