# Face recognition, MaixPy style: an example script for `kpusim maixpy` that runs unchanged on a
# MaixPy board (sipeed's MaixPy-v1 firmware) with the three models flashed at 0x300000 (face
# detector), 0x400000 (5-point landmarks) and 0x500000 (face features).
#
# Press the BOOT key to enrol the next face seen; later faces of that person get a green label.
# On the PC:
#   npx kpusim maixpy examples/maixpy/face_recognition.py --camera <photos> --key-press 1 --lcd-out out/lcd
# (see examples/maixpy/README.md for the models and the options).
import sensor
import image
import lcd
import KPU as kpu
import time
import utime
import gc
from Maix import GPIO
from fpioa_manager import fm
from board import board_info

# The detector's anchors (w, h in grid cells), score threshold and NMS overlap. These are MaixPy's
# for its own face detector; for another detector use the values it was trained with (kpusim's
# bundled detector: "anchors", "threshold" and "nms" in models/manifest.json).
ANCHORS = (1.889, 2.5245, 2.9465, 3.94056, 3.99987, 5.3658, 5.155437, 6.92275, 6.718375, 9.01025)
DETECT_THRESHOLD = 0.5
NMS = 0.3
ACCEPT = 85            # face_compare score above which a face counts as recognised
TEMPLATE = [(44, 59), (84, 59), (64, 82), (47, 105), (81, 105)]   # eyes, nose, mouth corners in 128x128
NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin']

task_fd = kpu.load(0x300000)
task_ld = kpu.load(0x400000)
task_fe = kpu.load(0x500000)
kpu.init_yolo2(task_fd, DETECT_THRESHOLD, NMS, len(ANCHORS) // 2, ANCHORS)

fm.register(board_info.BOOT_KEY, fm.fpioa.GPIOHS0)
key = GPIO(GPIO.GPIOHS0, GPIO.IN)
enrol = False


def on_key(*_):
    global enrol
    enrol = True
    utime.sleep_ms(50)


key.irq(on_key, GPIO.IRQ_RISING, GPIO.WAKEUP_NOT_SUPPORT)

lcd.init()
sensor.reset()
sensor.set_pixformat(sensor.RGB565)
sensor.set_framesize(sensor.QVGA)
sensor.set_hmirror(1)
sensor.set_vflip(1)
sensor.run(1)
clock = time.clock()

face128 = image.Image(size=(128, 128))
face128.pix_to_ai()
known = []

while True:
    img = sensor.snapshot()
    clock.tick()
    faces = kpu.run_yolo2(task_fd, img)
    if faces:
        for f in faces:
            img.draw_rectangle(f.rect())
            cut = img.cut(f.x(), f.y(), f.w(), f.h())
            cut128 = cut.resize(128, 128)
            cut128.pix_to_ai()
            p = kpu.forward(task_ld, cut128)[:]
            points = [(f.x() + int(p[2 * j] * f.w()), f.y() + int(p[2 * j + 1] * f.h())) for j in range(5)]
            for (x, y) in points:
                img.draw_circle(x, y, 3, color=(255, 255, 0))
            T = image.get_affine_transform(points, TEMPLATE)
            image.warp_affine_ai(img, face128, T)
            face128.ai_to_pix()
            del cut128
            feature = kpu.face_encode(kpu.forward(task_fe, face128)[:])
            scores = [kpu.face_compare(k, feature) for k in known]
            best = max(scores) if scores else 0.0
            if best > ACCEPT:
                who = NAMES[scores.index(best) % len(NAMES)]
                img.draw_string(f.x(), f.y() - 20, "%s %.1f" % (who, best), color=(0, 255, 0), scale=2)
            else:
                who = 'unknown'
                img.draw_string(f.x(), f.y() - 20, "? %.1f" % best, color=(255, 0, 0), scale=2)
            if enrol:
                known.append(feature)
                enrol = False
                who += ' (enrolled as %s)' % NAMES[(len(known) - 1) % len(NAMES)]
            print("face at %s: %s" % (f.rect(), who))
            break
    fps = clock.fps()
    img.draw_string(2, 2, "%2.1f fps" % fps, color=(255, 255, 255))
    lcd.display(img)
    gc.collect()
