# `machine`: scripts import it for a UART, a timer or a pin; kpusim emulates none of these.
import _kpusim as _k
__getattr__ = _k.module_getattr('machine', ('UART', 'Timer', 'PWM', 'I2C', 'SPI', 'WDT', 'RTC', 'Pin', 'ADC', 'reset', 'freq', 'unique_id', 'reset_cause', 'idle', 'deepsleep', 'lightsleep', 'mem8', 'mem16', 'mem32'))
