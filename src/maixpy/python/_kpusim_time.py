import _kpusim as _k
import struct as _struct

_MASK = 0xFFFFFFFF


# api: exact - the board clock (kpusim's model of the board's time since boot)
def ticks_ms():
    return _k.call('time_now', 1)


# api: exact
def ticks_us():
    return _k.call('time_now', 1000)


# api: exact
def ticks_cpu():
    return _k.call('time_now', 400000)


# api: exact
ticks = ticks_ms


# api: exact
def ticks_add(t, delta):
    return t + delta


# api: exact
def ticks_diff(a, b):
    return a - b


# api: exact - advances the board clock; no wall-clock wait
def sleep(s):
    _k.call('time_sleep', float(s) * 1000)


# api: exact
def sleep_ms(ms):
    _k.call('time_sleep', _k.get_int(ms))


# api: exact
def sleep_us(us):
    _k.call('time_sleep', _k.get_int(us) / 1000)


_rtc = [0]


# api: exact - seconds since 2000-01-01 on the emulated RTC: it starts at 2000-01-01 00:00:00 and follows the board clock
def time():
    return ticks_ms() // 1000 + _rtc[0]


def _days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


# api: exact
def localtime(secs=None):
    if secs is None:
        secs = time()
    secs = _k.get_int(secs)
    days, rem = divmod(secs, 86400)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    wday = (days + 5) % 7
    y = 2000
    while True:
        n = 366 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 365
        if days < n:
            break
        days -= n
        y += 1
    yday = days + 1
    m = 1
    while days >= _days_in_month(y, m):
        days -= _days_in_month(y, m)
        m += 1
    return (y, m, days + 1, hh, mm, ss, wday, yday)


# api: exact
def mktime(t):
    if len(t) < 8 or len(t) > 9:
        raise TypeError('mktime needs a tuple of length 8 or 9 (%d given)' % len(t))
    y, mo, d, hh, mm, ss = [_k.get_int(v) for v in t[:6]]
    days = 0
    for yy in range(2000, y):
        days += 366 if (yy % 4 == 0 and (yy % 100 != 0 or yy % 400 == 0)) else 365
    for m in range(1, mo):
        days += _days_in_month(y, m)
    days += d - 1
    return ((days * 24 + hh) * 60 + mm) * 60 + ss


# api: approx ((year, month, mday, hour, minute, second, ...)) - sets the emulated RTC, which then follows the
#   board clock; True, or False for a date the RTC cannot hold (kpusim checks the calendar ranges)
def set_time(t):
    y, mo, d, hh, mm, ss = [_k.get_int(v) for v in t[:6]]
    if not (2000 <= y <= 2099 and 1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and 0 <= hh < 24 and 0 <= mm < 60
            and 0 <= ss < 60):
        return False
    _rtc[0] = mktime((y, mo, d, hh, mm, ss, 0, 0)) - ticks_ms() // 1000
    return True


def _f32(x):
    return _struct.unpack('<f', _struct.pack('<f', x))[0]


# api: exact - `time.clock()`: tick/fps/avg in the firmware's binary32 arithmetic on the board clock
class clock:
    # api: exact ()
    def __init__(self):
        self.t_start = 0
        self.t_ticks = 0
        self.t_frame = 0

    def __repr__(self):
        return 't_start:%d t_ticks:%d t_frame:%d\n' % (self.t_start, self.t_ticks, self.t_frame)

    def tick(self):
        self.t_start = ticks_ms() & _MASK
        return None

    def fps(self):
        self.t_frame = (self.t_frame + 1) & _MASK
        self.t_ticks = (self.t_ticks + ((ticks_ms() - self.t_start) & _MASK)) & _MASK
        per = _f32(_f32(float(self.t_ticks)) / _f32(float(self.t_frame)))
        fps = _f32(1000.0 / per) if per != 0 else float('inf')
        if self.t_ticks >= 2000:
            self.t_frame = 0
            self.t_ticks = 0
        return fps

    def avg(self):
        self.t_frame = (self.t_frame + 1) & _MASK
        self.t_ticks = (self.t_ticks + ((ticks_ms() - self.t_start) & _MASK)) & _MASK
        return _f32(_f32(float(self.t_ticks)) / _f32(float(self.t_frame)))

    def reset(self):
        self.t_start = 0
        self.t_ticks = 0
        self.t_frame = 0
        return None


__getattr__ = _k.module_getattr('time', ('strftime', 'gmtime', 'time_ns'))
