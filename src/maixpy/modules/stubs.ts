/**
 * MaixPy modules kpusim does not emulate. `machine` exists (scripts import it for a UART or a
 * timer) and raises NotImplementedError naming the class or function when one is used; the
 * others raise NotImplementedError at import, naming the module.
 */
import type { MaixpyModule } from './types.js';

const machine = String.raw`
import _kpusim as _k
__getattr__ = _k.module_getattr('machine', ('UART', 'Timer', 'PWM', 'I2C', 'SPI', 'WDT', 'RTC', 'Pin', 'ADC', 'reset', 'freq', 'unique_id', 'reset_cause', 'idle', 'deepsleep', 'lightsleep', 'mem8', 'mem16', 'mem32'))
`;

function importStub(name: string): MaixpyModule {
  return { file: name, python: `import _kpusim as _k\n_k.unsupported('module ${name}')\n`, backend: {} };
}

export const stubModules: readonly MaixpyModule[] = [
  { file: 'machine', python: machine, backend: {} },
  ...['video', 'audio', 'nes', 'network', 'modules', 'speech_recognizer', 'lvgl', 'touchscreen', 'sipeed'].map(
    importStub,
  ),
];
