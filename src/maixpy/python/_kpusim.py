import _kpusim_js as _js
import uctypes
import struct

_EXC = {
    'ValueError': ValueError, 'TypeError': TypeError, 'OSError': OSError,
    'MemoryError': MemoryError, 'NotImplementedError': NotImplementedError,
    'IndexError': IndexError, 'RuntimeError': RuntimeError, 'AttributeError': AttributeError,
}


def _raise_pending():
    e = _js.error()
    if e is not None:
        i = e.find('\n')
        raise _EXC.get(e[:i], RuntimeError)(e[i + 1:])


def call(name, *args):
    r = _js.call(name, *args)
    st = _js.status()
    if st is not None:
        edges = list(st.edges)
        if edges:
            # BOOT key edges the board clock passed during the call: the GPIO interrupts run now
            import _kpusim_io
            _kpusim_io.key_edges(edges)
        e = st.error
        if e is not None:
            i = e.find('\n')
            raise _EXC.get(e[:i], RuntimeError)(e[i + 1:])
    return r


def addr(buf):
    return uctypes.addressof(buf)


def take(n):
    b = bytearray(n)
    if n:
        _js.take(uctypes.addressof(b), n)
    else:
        _js.take(0, 0)
    _raise_pending()
    return b


def floats(b):
    n = len(b) // 4
    return struct.unpack('<%df' % n, b) if n else ()


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def unsupported(api):
    raise NotImplementedError(api + ' is not supported by kpusim (MaixPy emulation on the PC)')


def get_int(v):
    # mp_obj_get_int: ints and bools only
    if type(v) is bool:
        return 1 if v else 0
    if type(v) is int:
        return v
    if type(v) is float:
        raise TypeError("can't convert float to int")
    raise TypeError("can't convert %s to int" % type(v).__name__)


def get_float(v):
    # mp_obj_get_float, then stored as a C float (binary32)
    if type(v) is bool or type(v) is int or type(v) is float:
        return f32(float(v))
    raise TypeError("can't convert %s to float" % type(v).__name__)


def consume(args, start, n):
    # py_helper_consume_array: n values given one by one, or as one tuple/list
    if len(args) > start and isinstance(args[start], (tuple, list)):
        v = args[start]
        if len(v) != n:
            raise ValueError('expected %d values' % n)
        return list(v), start + 1
    if len(args) < start + n:
        raise TypeError('expected %d values' % n)
    return list(args[start:start + n]), start + n


def opt(args, i, kw, name, default):
    if i < len(args):
        return args[i]
    return kw.get(name, default)


def check_kw(kw, allowed, api):
    for k in kw:
        if k not in allowed:
            raise TypeError("%s: unexpected keyword argument '%s'" % (api, k))


def module_getattr(modname, known):
    def __getattr__(name):
        if name in known:
            unsupported(modname + '.' + name)
        raise AttributeError("module '%s' has no attribute '%s'" % (modname, name))
    return __getattr__


def class_getattr(clsname, known):
    def __getattr__(self, name):
        if name in known:
            unsupported(clsname + '.' + name)
        raise AttributeError("'%s' object has no attribute '%s'" % (clsname, name))
    return __getattr__


def warn(text):
    _js.warn(text)


#: A script sees the board's exceptions: a failing call raises the Python exception the firmware
#: raises (ValueError, OSError, ...) with the script's own file and line in the traceback; an API
#: kpusim lacks raises NotImplementedError naming it.
#:
#: File errors carry the board's errno values, not the interpreter's (Emscripten's). The board's
#: /sd is FatFs, whose results MicroPython maps to a few errno values: a missing file or path, a
#: path through a file and a directory opened as a file are all ENOENT (2); a non-empty directory
#: and a full card are EACCES (13); a bad name is EINVAL (22); EEXIST (17), EIO (5), EBADF (9),
#: ENOMEM (12), EMFILE (24), EROFS (30), ENODEV (19) and EBUSY (16) keep their meaning.
_ERRNO = {
    44: 2, 54: 2, 31: 2,  # ENOENT, ENOTDIR, EISDIR -> ENOENT
    20: 17,  # EEXIST
    2: 13, 63: 13, 55: 13, 51: 13,  # EACCES, EPERM, ENOTEMPTY, ENOSPC -> EACCES
    28: 22, 37: 22,  # EINVAL, ENAMETOOLONG -> EINVAL
    29: 5, 8: 9, 48: 12, 33: 24, 69: 30, 43: 19, 10: 16,  # EIO, EBADF, ENOMEM, EMFILE, EROFS, ENODEV, EBUSY
}


def board_errno(n):
    return _ERRNO.get(n, n)


def board_oserror(e):
    # the OSError the board raises for an interpreter file-system error
    if e.args and type(e.args[0]) is int:
        return OSError(board_errno(e.args[0]))
    return e


class reserve:
    # Heap kept back while a script runs (`runScript` in src/maixpy/host.ts, as a `with` around it): the
    # interpreter reports an exception that ends the script from the heap, so with the heap full of the
    # script's objects it could not. The port collects no garbage while code runs, so the reserve is a
    # list's items, which `clear` gives back to the heap at once (shrunk in place), on the way out.
    def __init__(self, n):
        self.items = [None] * (n // 4)

    def __enter__(self):
        return self

    def __exit__(self, t, v, tb):
        self.items.clear()
        return False
