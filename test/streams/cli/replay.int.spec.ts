import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest, verifyManifestFiles } from '../../../streams/sinks/manifest.js';
import type { ReplayReport } from '../../../streams/replay/replayTrees.js';
import { runCli } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { fileHashes } from '../replay/fixtures.js';

describe('astro-stream replay --from-dir (end to end)', () => {
  const root = mkdtempSync(join(tmpdir(), 'astro-replay-cli-'));
  const src = join(root, 'run');

  beforeAll(async () => {
    const run = await runCli(['run', '--problems', '6', '--numbers', '3', '--iterations', '16', '--seed', '7', '--out', src]);
    expect(run.code).toBe(0);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const replay = async (name: string, args: readonly string[]): Promise<{ out: string; report: ReplayReport }> => {
    const out = join(root, name);
    const result = await runCli(['replay', '--from-dir', join(src, 'trees'), '--out', out, '--json', ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return { out, report: JSON.parse(result.stdout) as ReplayReport };
  };

  it('two processes with a new k mix write byte-identical files, make zero model calls, and DuckDB reads them', async () => {
    const a = await replay('a', ['--k-mix', '0,1,1,2,3', '--trees-per-file', '2']);
    const b = await replay('b', ['--k-mix', '0,1,1,2,3', '--trees-per-file', '2']);
    expect(a.report.policy_calls).toBe(0);
    expect(b.report.policy_calls).toBe(0);
    expect(a.report.trees_read).toBe(6);
    const ma = await readManifest(a.out);
    const paths = ma.files.map((f) => f.path);
    expect(await fileHashes(b.out, paths)).toEqual(await fileHashes(a.out, paths));
    expect(await verifyManifestFiles(a.out, ma)).toEqual([]);
    expect(ma.configs['linearize']).toMatchObject({ kMix: [0, 1, 1, 2, 3] });

    const [count] = await duckdbRows(`SELECT count(*)::INTEGER AS n, count(DISTINCT trace_id)::INTEGER AS ids FROM read_parquet('${a.out}/traces/*.parquet')`);
    expect(count).toEqual({ n: a.report.traces, ids: a.report.traces });
    const [original] = await duckdbRows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${src}/traces/*.parquet')`);
    expect(a.report.traces).toBeGreaterThan(Number(original?.n));
  });

  it('takes the linearizer from --config and lets flags override it', async () => {
    const config = join(root, 'lin.json');
    writeFileSync(config, JSON.stringify({ linearize: { kMix: [0, 0], ablation: true } }));
    const { out, report } = await replay('cfg', ['--config', config, '--k-mix', '0']);
    expect((await readManifest(out)).configs['linearize']).toMatchObject({ kMix: [0], ablation: true });
    expect(Object.keys(report.traces_by_variant).sort()).toEqual(['direct', 'direct_ablation']);
    expect(report.traces_by_variant['direct']).toBe(report.traces_by_variant['direct_ablation']);
    // A replay of that replay inherits its linearizer config; --no-ablation turns the arm off.
    const inherited = await runCli(['replay', '--from-dir', out, '--out', join(root, 'cfg-2'), '--json']);
    expect((JSON.parse(inherited.stdout) as ReplayReport).traces_by_variant).toEqual(report.traces_by_variant);
    const off = await runCli(['replay', '--from-dir', out, '--out', join(root, 'cfg-3'), '--no-ablation', '--json']);
    expect(Object.keys((JSON.parse(off.stdout) as ReplayReport).traces_by_variant)).toEqual(['direct']);
  });

  it('refuses ambiguous or unsafe invocations with a config error (exit 2)', async () => {
    const used = join(root, 'a');
    const cases: [string[], RegExp][] = [
      [['replay', '--out', join(root, 'x1')], /exactly one of --from-topic or --from-dir/],
      [['replay', '--from-dir', src, '--from-topic', 'astro.trees.v1', '--out', join(root, 'x2')], /exactly one/],
      [['replay', '--from-dir', src, '--out', used], /not empty/],
      [['replay', '--from-dir', src, '--from-time', '0', '--out', join(root, 'x3')], /apply to --from-topic only/],
      [['replay', '--from-topic', 'astro.trees.v1', '--brokers', '127.0.0.1:1', '--group', 'astro.verify', '--out', join(root, 'x4')], /live stage's group/],
      [['replay', '--from-dir', join(root, 'nowhere'), '--out', join(root, 'x5')], /no tree archive/],
      [['replay', '--from-topic', 'astro.trees.v1', '--from-time', '20', '--to-time', '10', '--brokers', '127.0.0.1:1', '--out', join(root, 'x7')], /--from-time is after --to-time/],
      [['replay', '--from-topic', 'astro.trees.v1', '--from-time', 'yesterday-ish', '--brokers', '127.0.0.1:1', '--out', join(root, 'x6')], /--from-time must be/],
      [['replay', '--from-dir', src, '--rebuild-workers', '2', '--out', join(root, 'x8')], /--rebuild-workers applies to --from-topic only/],
      [['replay', '--from-topic', 'astro.trees.v1', '--rebuild-workers=-1', '--brokers', '127.0.0.1:1', '--out', join(root, 'x9')], /--rebuild-workers must be >= 0/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(2);
    }
    // Ten CLI processes one after another: minutes on a loaded 2-core machine.
  }, 300_000);
});
