# `gc`: the interpreter's own collector (MicroPython's heap, bounded by --heap-mb).
# api-default: exact
from gc import collect, enable, disable, isenabled, mem_free, mem_alloc, threshold
