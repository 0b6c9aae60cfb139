# MaixPy's `board` module: `board_info` with the Maix Bit's pins (BOOT key 16, LEDs 12 to 14).
# api-default: exact
class board_info:
    BOOT_KEY = 16
    LED_R = 13
    LED_G = 12
    LED_B = 14

    @staticmethod
    def set(key, value=None):
        setattr(board_info, key, value)

    @staticmethod
    def all():
        return [k for k in dir(board_info) if not k.startswith('_')]

    @staticmethod
    def get(key):
        return getattr(board_info, key)

    @staticmethod
    def load(m={}):
        for k in m:
            setattr(board_info, k, m[k])
