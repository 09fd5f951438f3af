import { describe, expect, it } from 'vitest';
import { DEFAULT_SEARCH_CONFIG, parseSearchConfig, toSearchSettings } from '../../../operators/mcts/searchConfig.js';
import { SearchSettings } from '../../../schemas/searchTree.js';

describe('searchConfig', () => {
  it('has the paper defaults', () => {
    expect(DEFAULT_SEARCH_CONFIG).toEqual({ k: 8, rollouts: 16, iterations: 32, maxDepth: 50, cPuct: 1, temperature: 1, topP: 0.95, seed: 0, backup: 'paper', exhausted: 'skip' });
  });

  it('fills missing fields with the defaults', () => {
    expect(parseSearchConfig({ seed: 7, k: 4 })).toEqual({ ...DEFAULT_SEARCH_CONFIG, seed: 7, k: 4 });
    expect(parseSearchConfig(undefined)).toEqual(DEFAULT_SEARCH_CONFIG);
    expect(parseSearchConfig({ rolloutMaxSteps: 12 }).rolloutMaxSteps).toBe(12);
    expect('rolloutMaxSteps' in parseSearchConfig({})).toBe(false);
  });

  it('rejects bad values and unknown keys', () => {
    expect(() => parseSearchConfig({ k: 0 })).toThrow();
    expect(() => parseSearchConfig({ topP: 0 })).toThrow();
    expect(() => parseSearchConfig({ topP: 1.5 })).toThrow();
    expect(() => parseSearchConfig({ iterations: 2.5 })).toThrow();
    expect(() => parseSearchConfig({ rollouts: -1 })).toThrow();
    expect(() => parseSearchConfig({ cpuct: 1 })).toThrow();
    expect(() => parseSearchConfig({ backup: 'average' })).toThrow();
    expect(() => parseSearchConfig({ exhausted: 'ignore' })).toThrow();
    expect(parseSearchConfig({ backup: 'legacy', exhausted: 'revisit' })).toMatchObject({ backup: 'legacy', exhausted: 'revisit' });
  });

  it('maps to the snake_case tree settings', () => {
    const settings = toSearchSettings({ ...DEFAULT_SEARCH_CONFIG, cPuct: 2, maxDepth: 9 });
    expect(settings).toEqual({ k: 8, rollouts: 16, iterations: 32, max_depth: 9, c_puct: 2, temperature: 1, top_p: 0.95, backup: 'paper', exhausted: 'skip' });
    expect(SearchSettings.parse(settings)).toEqual(settings);
    // Trees recorded before the fields existed still validate (they used the legacy backup).
    const { backup: _b, exhausted: _e, ...recorded } = settings;
    expect(SearchSettings.parse(recorded)).toEqual(recorded);
  });
});
