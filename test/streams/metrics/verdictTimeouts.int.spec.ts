import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Domain } from '../../../domains/domain.js';
import { mathDomain } from '../../../domains/math/index.js';
import { domainOf } from '../../../domains/registry.js';
import { InMemoryMetrics, silentLogger } from '../../../operators/common/metrics.js';
import { parseLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import { createMathVerifier } from '../../../operators/verify/math/mathVerifier.js';
import type { Verdict, Verifier } from '../../../operators/verify/verifier.js';
import { PROBLEMS_TOPIC, ProblemCodec, type Problem } from '../../../schemas/problem.js';
import { TREES_TOPIC } from '../../../schemas/searchTree.js';
import { allTopicSpecs } from '../../../schemas/topics.js';
import { parseRunConfig } from '../../../streams/cli/runConfig.js';
import { summarize } from '../../../streams/cli/summary.js';
import { topologyConfigOf } from '../../../streams/cli/topologyConfig.js';
import { parseExposition, sumOf } from '../../../streams/metrics/parseExposition.js';
import { PromMetrics } from '../../../streams/metrics/promMetrics.js';
import { createDryRunPolicy } from '../../../streams/policies/dryRunPolicy.js';
import { archiveSource, createNoModelPolicy, readReplayManifest, replayTrees } from '../../../streams/replay/index.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { createTreeArchiveSink } from '../../../streams/sinks/treeArchiveSink.js';
import { startNamedStage } from '../../../streams/stages/topology.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import { CasPool } from '../../../streams/verifier/casPool.js';
import { buildTree } from '../../helpers/treeArbitraries.js';
import { waitFor } from '../../helpers/waitFor.js';

// A gold answer only the CAS reads (the inline parser does not know \gcd): every other answer
// goes to the pool, whose 1 ms bound runs out (a CAS answer takes several ms), as the 2 s one
// does on a hard pair in production.
const GOLD = '\\gcd((x+y+z+w)^{60}, 1)';
const problem = (i: number): Problem => ({ id: `cas-${i}`, domain: 'math', source: 'timeouts', question: `Simplify ${GOLD} (${i}).`, answer: GOLD, solution: `It is a gcd with 1.\n\nSo it is \\boxed{${GOLD}}.` });

/** The real math verifier on a real CAS pool with a 1 ms bound, and our own count of its timeout verdicts. */
function timingOutVerifier(pool: CasPool): { verifier: Verifier; timeouts: () => number } {
  const inner = createMathVerifier({ timeoutMs: 1 }, { cas: pool });
  let timeouts = 0;
  const seen = (v: Verdict): Verdict => {
    if ((v as { method?: string }).method === 'timeout') timeouts += 1;
    return v;
  };
  // Only `verify`: the asynchronous path is the one that reaches the CAS.
  const verifier: Verifier = { name: inner.name, version: inner.version, configHash: inner.configHash, verify: async (p, r) => seen(await inner.verify(p, r)) };
  return { verifier, timeouts: () => timeouts };
}

let pool: CasPool;
let root: string;
beforeAll(async () => {
  pool = new CasPool({ workers: 1, maxHeapMb: 256 });
  root = await mkdtemp(join(tmpdir(), 'astro-verdict-timeouts-'));
});
afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

describe('verifier timeouts are counted where the verifier is called', () => {
  it('search stage: search-time verdicts that ran out of time are counted, exported with stage="search" and in the run summary', async () => {
    const { verifier, timeouts } = timingOutVerifier(pool);
    const prom = new PromMetrics();
    const metrics = new InMemoryMetrics(prom);
    const math: Domain = { ...mathDomain, verifier };
    const transport = createMemoryTransport();
    await transport.createTopics(allTopicSpecs({ partitions: 2 }));
    const producer = await transport.producer();
    const policy = createDryRunPolicy({ mistakeRate: 0.9 });
    const { stages } = await startNamedStage('search', topologyConfigOf(parseRunConfig({ search: { iterations: 6, k: 4, rollouts: 2 } })), {
      transport,
      producer,
      policy: () => policy,
      domainOf: (name) => (name === 'math' ? math : domainOf(name)),
      metrics,
      logger: silentLogger,
      clock: Date.now,
    });
    try {
      const problems = [0, 1, 2].map(problem);
      await producer.send(PROBLEMS_TOPIC, problems.map((p) => ({ key: p.id, value: ProblemCodec.encode(p) })));
      await waitFor(async () => [...(await transport.endOffsets(TREES_TOPIC)).values()].reduce((a, b) => a + b, 0) === problems.length, { timeoutMs: 120_000, message: 'three trees' });
    } finally {
      for (const s of stages) await s.stop();
      await producer.close();
      await transport.close();
    }
    expect(timeouts()).toBeGreaterThan(0);
    expect(metrics.counter('search.verdict_timeouts')).toBe(timeouts());
    const samples = parseExposition(await prom.registry.metrics());
    expect(sumOf(samples, 'astro_verify_timeouts_total', { stage: 'search' })).toBe(timeouts());
    const summary = summarize({ problems: 3, metrics: metrics.snapshot(), wallMs: 1, out: 'x' });
    expect(summary.verdict_timeouts).toEqual({ search: timeouts(), verify: 0 });
  }, 180_000);

  it('replay: labels that ran out of time are counted in the report, the manifest and the metrics', async () => {
    const { verifier, timeouts } = timingOutVerifier(pool);
    // Search trees recorded by another verifier, so the replay labels every terminal again.
    const trees = [0, 1, 2, 3].map((i) => {
      const tree = buildTree([{ step: 'We look at it.', children: [{ step: `\\boxed{${i + 2}}` }, { step: `\\boxed{x^{${i + 1}}}` }] }], { problem: problem(i), treeId: `tree_t${i}` });
      return { ...tree, search_verifier: 'math@1.0.0', search_verifier_config_hash: 'old' };
    });
    await createTreeArchiveSink({ dir: join(root, 'old'), trees: 'search' }).writeBatch(trees, 0);
    const encoder = ParquetEncoder.create({ workers: 1 });
    const metrics = new InMemoryMetrics();
    try {
      const out = join(root, 'replayed');
      const report = await replayTrees(
        archiveSource(join(root, 'old')),
        { linearize: parseLinearizeConfig({}), out, treesPerFile: 100, archiveTrees: false, command: 'test verdict timeouts' },
        { domainOf, verifierOf: () => verifier, encoder, clock: () => 1_700_000_000_000, metrics, logger: silentLogger, policyCalls: createNoModelPolicy().calls, version: 'test' },
      );
      expect(report.trees_reverified).toBe(trees.length);
      // Eight terminals, none string-equal to the gold: each is a CAS call, and its 1 ms runs out.
      expect(timeouts()).toBeGreaterThan(0);
      expect(report.verdict_timeouts).toBe(timeouts());
      expect(metrics.counter('replay.verdict_timeouts')).toBe(timeouts());
      expect((await readReplayManifest(out))?.manifest.counts['replay.verdict_timeouts']).toBe(timeouts());
    } finally {
      await encoder.close();
    }
  }, 180_000);
});
