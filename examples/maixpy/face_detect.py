# Face detection, MaixPy style: the detector at flash 0x300000 (kpusim's bundled detector by default; its
# anchors, threshold and NMS are those in models/manifest.json), a box and the score drawn for each face.
#   npx kpusim maixpy examples/maixpy/face_detect.py --camera examples/images --lcd-out out/lcd
import sensor
import image
import lcd
import KPU as kpu
import time

ANCHORS = (1.603231, 2.094468, 6.041143, 7.080126, 2.882459, 3.518061, 4.266906, 5.178857, 9.041765, 10.66308)

task = kpu.load(0x300000)
kpu.init_yolo2(task, 0.5, 0.4, len(ANCHORS) // 2, ANCHORS)

lcd.init()
sensor.reset()
sensor.set_pixformat(sensor.RGB565)
sensor.set_framesize(sensor.QVGA)
sensor.run(1)
clock = time.clock()
frame = 0

while True:
    img = sensor.snapshot()
    clock.tick()
    frame += 1
    faces = kpu.run_yolo2(task, img) or []
    for f in faces:
        img.draw_rectangle(f.rect(), color=(0, 255, 0))
        img.draw_string(f.x(), f.y() - 12, "%.2f" % f.value(), color=(0, 255, 0))
    print("frame %d: %d face(s) %s" % (frame, len(faces), [f.rect() for f in faces]))
    img.draw_string(2, 2, "%2.1f fps" % clock.fps(), color=(255, 255, 255))
    lcd.display(img)
