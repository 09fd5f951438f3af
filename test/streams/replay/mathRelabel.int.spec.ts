import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mathDomain } from '../../../domains/math/index.js';
import { domainOf } from '../../../domains/registry.js';
import { silentLogger } from '../../../operators/common/metrics.js';
import { parseLinearizeConfig } from '../../../operators/linearize/linearizeConfig.js';
import type { SearchTree } from '../../../schemas/searchTree.js';
import type { VerifiedTree } from '../../../schemas/verifiedTree.js';
import { ParquetEncoder } from '../../../streams/sinks/parquetEncoder.js';
import { createTreeArchiveSink, readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { archiveSource, createNoModelPolicy, readReplayManifest, replayTrees } from '../../../streams/replay/index.js';
import { buildTree } from '../../helpers/treeArbitraries.js';
import { REPO_ROOT } from '../../helpers/cli.js';

/** Responses with the verdicts math@1.0.0 gave them (recorded by running that version). */
const recorded = readFileSync(join(REPO_ROOT, 'test/fixtures/math/relabel-v1.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { gold: string; response: string; v1: boolean });

let root: string;
let encoder: ParquetEncoder;
let expectedChanges = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'astro-math-relabel-'));
  encoder = ParquetEncoder.create({ workers: 1 });
  // One tree per gold answer; every terminal carries its math@1.0.0 label, as the old search recorded it.
  const trees: SearchTree[] = recorded.map((r, i) => {
    const problem = { id: `m${i}`, domain: 'math', source: 'relabel', question: `Problem ${i}?`, answer: r.gold };
    const tree = buildTree([{ step: 'We work it out.', children: [{ step: r.response, recorded: r.v1 }] }], { problem, treeId: `tree_m${String(i).padStart(2, '0')}` });
    return { ...tree, search_verifier: 'math@1.0.0', search_verifier_config_hash: 'c5760dde10ce13ed' };
  });
  for (const r of recorded) if ((await mathDomain.verifier.verify({ id: 'p', domain: 'math', source: 't', question: 'q', answer: r.gold }, r.response)).correct !== r.v1) expectedChanges += 1;
  await createTreeArchiveSink({ dir: join(root, 'old'), trees: 'search' }).writeBatch(trees, 0);
});
afterAll(async () => {
  await encoder.close();
  await rm(root, { recursive: true, force: true });
});

describe('replaying trees labelled by math@1.0.0', () => {
  it('relabels every terminal under math@2.0.0 and reports how many labels changed', async () => {
    // The fixture holds both kinds: labels the new version keeps and labels it corrects.
    expect(expectedChanges).toBeGreaterThan(5);
    expect(expectedChanges).toBeLessThan(recorded.length);
    const out = join(root, 'relabelled');
    const noModel = createNoModelPolicy();
    const report = await replayTrees(
      archiveSource(join(root, 'old')),
      { linearize: parseLinearizeConfig({}), out, treesPerFile: 100, archiveTrees: true, command: 'test math relabel' },
      { domainOf, encoder, clock: () => 1_700_000_000_000, logger: silentLogger, policyCalls: noModel.calls, version: 'test' },
    );
    expect(report.trees_read).toBe(recorded.length);
    expect(report.trees_reverified).toBe(recorded.length);
    expect(report.labels_changed).toBe(expectedChanges);
    expect(noModel.calls()).toBe(0);
    const manifest = await readReplayManifest(out);
    expect(manifest?.manifest.versions.verifier).toBe('math@2.0.0');
    expect(manifest?.manifest.counts['labels_changed']).toBe(expectedChanges);
    const relabelled: VerifiedTree[] = [];
    for await (const t of readTreeArchive(out)) relabelled.push(t as VerifiedTree);
    expect(relabelled.every((t) => t.verifier === 'math@2.0.0')).toBe(true);
    expect(relabelled.reduce((s, t) => s + t.relabelled, 0)).toBe(expectedChanges);
  });
});
