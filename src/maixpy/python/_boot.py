# What the firmware's frozen _boot.py leaves behind before the script runs (MaixPy-v1 and CanMV
# alike): the working directory is /sd when a card is present, else /flash; sys.path is '', '.',
# '/sd' (with a card) and '/flash'; os, sys and time stay imported in __main__. kpusim adds '/lib'
# last, where its own modules stand in for the firmware's built-in ones, and makes `open` raise
# the board's errno values. The firmware's 200 ms wait for the IDE is not charged to the clock.
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
del builtins
