# `os` / `uos` as the board has them: the interpreter's file functions with the board's errno
# values (OSError: [Errno 2] ENOENT where the interpreter says 44), `listdir('/')` showing the
# board's mount points only, and `uname()`.
import os as _os
import _kpusim as _k

sep = '/'


def _wrap(fn):
    def f(*args):
        try:
            return fn(*args)
        except OSError as e:
            raise _k.board_oserror(e)
    return f


# api: exact
chdir = _wrap(_os.chdir)
# api: exact
getcwd = _wrap(_os.getcwd)
# api: exact
ilistdir = _wrap(_os.ilistdir)
# api: exact
mkdir = _wrap(_os.mkdir)
# api: exact
remove = _wrap(_os.remove)
# api: exact
rename = _wrap(_os.rename)
# api: exact
rmdir = _wrap(_os.rmdir)
# api: exact
stat = _wrap(_os.stat)
# api: approx - the interpreter's file system figures
statvfs = _wrap(_os.statvfs)
# api: exact
unlink = _wrap(_os.unlink)
_listdir = _wrap(_os.listdir)


# api: exact - `/` lists the board's mount points (flash, sd) only
def listdir(*args):
    names = _listdir(*args)
    if (args and args[0] == '/') or (not args and _os.getcwd() == '/'):
        return [n for n in names if n in ('flash', 'sd')]
    return names


# api: no-op
def sync():
    return None


# api: exact - MaixPy 0.6.2's answer, with machine `kpusim`
def uname():
    return ('MaixPy', 'MaixPy', '0.6.2', 'kpusim', 'Sipeed_M1 with kendryte-k210')


_open = open


def _board_open(*args, **kw):
    try:
        return _open(*args, **kw)
    except OSError as e:
        raise _k.board_oserror(e)


__getattr__ = _k.module_getattr('os', ('urandom', 'dupterm', 'mount', 'umount', 'VfsFat', 'VfsSpiffs', 'flash_format'))
