import { describe, expect, it } from 'vitest';
import { parseRunConfig, SINK_LINGER_MS } from '../../../streams/cli/runConfig.js';
import { topologyConfigOf } from '../../../streams/cli/topologyConfig.js';

describe('topologyConfigOf', () => {
  it('uses the finite-run sink linger unless the config sets one', () => {
    expect(topologyConfigOf(parseRunConfig({})).sink).toEqual({ maxRecords: 1000, lingerMs: SINK_LINGER_MS });
    expect(topologyConfigOf(parseRunConfig({ sink: { maxRecords: 10, lingerMs: 5 } })).sink).toEqual({ maxRecords: 10, lingerMs: 5 });
    expect(() => parseRunConfig({ sink: { lingerMs: -1 } })).toThrow(/lingerMs/);
  });
});
