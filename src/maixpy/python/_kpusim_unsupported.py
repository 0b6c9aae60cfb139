# Installed under the name of each MaixPy module kpusim does not emulate (video, audio, nes, ...):
# importing it raises NotImplementedError naming the module.
import _kpusim as _k

_k.unsupported('module ' + __name__)
