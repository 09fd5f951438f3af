import { describe, expect, it } from 'vitest';
import { watchStopSignals } from '../../../streams/cli/signals.js';

describe('watchStopSignals', () => {
  it('asks for a graceful stop on the first signal and exits 130 at once on the second', async () => {
    const lines: string[] = [];
    const exits: number[] = [];
    const before = process.listenerCount('SIGINT');
    const signals = watchStopSignals({ write: (l) => lines.push(l), exit: (code) => exits.push(code) });
    try {
      expect(signals.received()).toBeUndefined();
      process.emit('SIGINT', 'SIGINT');
      expect(await signals.first).toBe('SIGINT');
      expect(signals.received()).toBe('SIGINT');
      expect(exits).toEqual([]);
      expect(lines[0]).toMatch(/SIGINT: stopping .*send it again to exit at once/);
      process.emit('SIGTERM', 'SIGTERM');
      expect(exits).toEqual([130]);
      expect(lines[1]).toMatch(/second SIGTERM: exiting now/);
    } finally {
      signals.dispose();
    }
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
