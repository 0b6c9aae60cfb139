# What the firmware's frozen _boot.py leaves behind before the script runs (MaixPy-v1 and CanMV
# alike): the working directory is /sd when a card is present, else /flash; sys.path is '', '.',
# '/sd' (with a card) and '/flash'; os, sys and time stay imported in __main__. kpusim adds '/lib'
# last, where its own modules stand in for the firmware's built-in ones, and makes `open` raise
# the board's errno values. The firmware's 200 ms wait for the IDE is not charged to the clock.
#
# On the board a built-in module wins over a file or folder of the same name on sys.path (CanMV's
# SD card layout has a folder /sd/KPU of models beside the built-in KPU module). A stand-in in /lib
# that such an entry would hide is imported from /lib here, so `import KPU` finds it as on the board.
import os, sys, time
import builtins

builtins.open = os._board_open
while sys.path:
    sys.path.pop()
sys.path.append('')
sys.path.append('.')
if 'sd' in os.listdir('/'):
    os.chdir('/sd')
    sys.path.append('/sd')
else:
    os.chdir('/flash')
sys.path.append('/flash')
sys.path.append('/lib')


def _kpusim_unhide():
    ahead = sys.path[:-1]
    listed = {}
    for d in ahead:
        if (d or '.') not in listed:
            try:
                listed[d or '.'] = set(os.listdir(d or '.'))
            except OSError:
                listed[d or '.'] = set()
    for f in os.listdir('/lib'):
        name = f[:-3] if f.endswith('.py') else f[:-4] if f.endswith('.mpy') else f
        if name in sys.modules:
            continue
        for d in ahead:
            names = listed[d or '.']
            if name in names or name + '.py' in names or name + '.mpy' in names:
                saved = list(sys.path)
                while sys.path:
                    sys.path.pop()
                sys.path.append('/lib')
                try:
                    __import__(name)
                finally:
                    sys.path.pop()
                    for p in saved:
                        sys.path.append(p)
                break


_kpusim_unhide()
del _kpusim_unhide
del builtins
