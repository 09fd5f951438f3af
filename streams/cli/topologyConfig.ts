import { parseLinearizeConfig } from '../../operators/linearize/linearizeConfig.js';
import { parseSearchConfig } from '../../operators/mcts/searchConfig.js';
import type { TopologyConfig } from '../stages/topology.js';
import { SINK_LINGER_MS, type RunConfig } from './runConfig.js';

/**
 * The stage settings a run config implies. `run` and every `stage` process derive them the same
 * way (the search and linearizer seeds default to the run seed), which is what makes a topology
 * split across processes produce the same trees and traces as the embedded run.
 */
export function topologyConfigOf(config: RunConfig): TopologyConfig {
  return {
    search: parseSearchConfig({ ...config.search, seed: config.search.seed ?? config.seed }),
    linearize: parseLinearizeConfig({ ...config.linearize, seed: config.linearize.seed ?? config.seed }),
    searchConcurrency: config.concurrency,
    parallelIterations: config.parallelIterations,
    verifyTimeoutMs: config.verifyTimeoutMs,
    out: config.out,
    sink: { maxRecords: config.sink.maxRecords, lingerMs: config.sink.lingerMs ?? SINK_LINGER_MS },
  };
}
