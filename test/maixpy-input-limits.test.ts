/**
 * Input and end of run outside snapshots: BOOT key presses at board times (`keyPressMs`), the
 * key readable at any time, interrupts delivered at the first call into kpusim's modules after
 * an edge, and runs bounded by board time and by LCD frames.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScript, tempDir } from './fixtures/maixpy/helpers.js';

const KEY = `
import time
from Maix import GPIO
from fpioa_manager import fm
from board import board_info
fm.register(board_info.BOOT_KEY, fm.fpioa.GPIOHS0)
key = GPIO(GPIO.GPIOHS0, GPIO.IN, GPIO.PULL_UP)
`;

describe('BOOT key at board times', () => {
  it('a loop polling the key (no snapshot) sees the press and ends', async () => {
    const r = await runScript(
      { source: `${KEY}\nwhile key.value() == 1:\n    pass\nprint(time.ticks_ms())\n` },
      { keyPressMs: [{ at: 40, ms: 100 }], maxBoardMs: 5000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.reason).toBe('script-ended');
    const t = Number(r.lines[0]);
    expect(t).toBeGreaterThanOrEqual(40);
    expect(t).toBeLessThan(41);
  });

  it('interrupt handlers run at the first call after each edge (press: falling, release: rising)', async () => {
    const r = await runScript(
      {
        source: `${KEY}
events = []
key.irq(lambda p: events.append(('down' if key.value() == 0 else 'up', time.ticks_ms())), GPIO.IRQ_BOTH)
for i in range(10):
    time.sleep_ms(100)
print(events)
`,
      },
      { keyPressMs: [{ at: 550, ms: 100 }] },
    );
    expect(r.error).toBeUndefined();
    // the sleep ending at 600 ms passes the press (550): handler at 600, key down; release at 650, seen at 700
    expect(r.lines).toEqual(["[('down', 600), ('up', 700)]"]);
  });
});

describe('run limits', () => {
  it('--max-board-ms ends a loop that never snapshots', async () => {
    const r = await runScript({ source: 'import time\nwhile True:\n    time.sleep_ms(10)\n' }, { maxBoardMs: 1000 });
    expect(r.exitCode).toBe(0);
    expect(r.reason).toBe('board-time-limit');
    expect(r.boardMs).toBeGreaterThanOrEqual(1000);
    expect(r.boardMs).toBeLessThan(1011);
  });

  it('--max-lcd-frames ends an LCD animation after N complete frames', async () => {
    const lcdOut = tempDir('lcd-limit');
    const r = await runScript(
      {
        source:
          "import lcd, time\nlcd.init()\ni = 0\nwhile True:\n    lcd.clear()\n    lcd.draw_string(10, 10, 'frame %d' % i)\n    i += 1\n    time.sleep_ms(40)\n",
      },
      { maxLcdFrames: 3, lcdOut },
    );
    expect(r.exitCode).toBe(0);
    expect(r.reason).toBe('lcd-frames-limit');
    expect(readdirSync(lcdOut).sort()).toEqual(['lcd-0001.png', 'lcd-0002.png', 'lcd-0003.png']);
    expect(r.displays).toBe(3);
  });
});
