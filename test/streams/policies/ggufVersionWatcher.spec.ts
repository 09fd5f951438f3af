import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { POLICY_TOPIC, PolicyVersionCodec, type PolicyVersion } from '../../../schemas/policyVersion.js';
import { topicSpec } from '../../../schemas/topics.js';
import { assertGguf, sha256File, type GgufVersion } from '../../../streams/llm/servedGgufPolicy.js';
import { startGgufVersionWatcher } from '../../../streams/policies/ggufVersionWatcher.js';
import { followPolicyTopic, followVersionsFile } from '../../../streams/policies/policyVersionSources.js';
import { createMemoryTransport } from '../../../streams/transport/memoryTransport.js';
import { waitFor } from '../../helpers/waitFor.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-watch-'));
  dirs.push(dir);
  return dir;
}

const record = (version: number, path: string, sha256: string, policy = 'astro-lm'): PolicyVersion => ({ policy, version, path, sha256, step: version, metrics: [], created_at: 1 });
const line = (r: PolicyVersion): string => `${new TextDecoder().decode(PolicyVersionCodec.encode(r))}\n`;

/** A file whose sha256 is known: the watcher checks it before switching. */
async function file(dir: string, name: string, content: string): Promise<{ path: string; sha256: string }> {
  const path = join(dir, name);
  writeFileSync(path, content);
  return { path, sha256: await sha256File(path) };
}

function logs() {
  const lines: string[] = [];
  return { lines, logger: { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) } };
}

describe('GGUF version watcher', () => {
  it('switches to each newer version of its family from versions.jsonl, in order, and logs the ones it cannot serve with their version and reason', async () => {
    const dir = tempDir();
    const log = join(dir, 'versions.jsonl');
    const a = await file(dir, 'a.gguf', 'GGUF a');
    const b = await file(dir, 'b.gguf', 'GGUF b');
    const refused = await file(dir, 'refused.gguf', 'GGUF refused');
    const switched: GgufVersion[] = [];
    const { lines, logger } = logs();
    const metrics = new InMemoryMetrics();
    const watcher = startGgufVersionWatcher(
      { policyName: 'astro-lm', initialVersion: 0 },
      {
        source: followVersionsFile(log, { pollMs: 20 }),
        switchTo: async (next) => {
          if (next.path === refused.path) throw new AppError('config', 'llama-server cannot serve it: failed to load model');
          switched.push(next);
        },
        sha256: sha256File,
        logger,
        metrics,
      },
    );
    // Written before and after the watcher starts, one line split across two writes.
    writeFileSync(log, line(record(1, a.path, a.sha256)) + line(record(1, a.path, a.sha256, 'other-family')));
    await waitFor(() => watcher.version() === 1, { timeoutMs: 5_000 });
    const half = line(record(2, refused.path, refused.sha256));
    appendFileSync(log, half.slice(0, 20));
    appendFileSync(log, half.slice(20) + line(record(2, b.path, '0'.repeat(64))) + 'not json\n' + line(record(1, b.path, b.sha256)));
    await waitFor(() => metrics.counter('policy_watcher.bad_records') === 1, { timeoutMs: 5_000 });
    appendFileSync(log, line(record(3, b.path, b.sha256)));
    await watcher.waitForVersion(3);
    await watcher.stop();

    expect(switched).toEqual([
      { label: `astro-lm@v1.${a.sha256.slice(0, 12)}`, path: a.path },
      { label: `astro-lm@v3.${b.sha256.slice(0, 12)}`, path: b.path },
    ]);
    expect(watcher.failures().map((f) => [f.version, f.path])).toEqual([
      [2, refused.path],
      [2, b.path],
    ]);
    expect(lines).toContain(`error policy versions: cannot serve astro-lm@v2.${refused.sha256.slice(0, 12)} (version 2 of astro-lm): llama-server cannot serve it: failed to load model; still serving version 1`);
    expect(lines).toContain(`error policy versions: cannot serve astro-lm@v2.${'0'.repeat(12)} (version 2 of astro-lm): ${b.path} has sha256 ${b.sha256}, the record says ${'0'.repeat(64)}; still serving version 1`);
    expect(metrics.counter('policy_watcher.load_failures')).toBe(2);
    expect(metrics.counter('policy_watcher.swaps')).toBe(2);
  });

  it('follows astro.policy.v1 on a transport from its beginning', async () => {
    const dir = tempDir();
    const a = await file(dir, 'a.gguf', 'GGUF a');
    const transport = createMemoryTransport();
    await transport.createTopics([topicSpec(POLICY_TOPIC)]);
    const producer = await transport.producer();
    await producer.send(POLICY_TOPIC, [{ key: 'astro-lm', value: PolicyVersionCodec.encode(record(4, a.path, a.sha256)) }]);
    const switched: string[] = [];
    const watcher = startGgufVersionWatcher(
      { policyName: 'astro-lm', initialVersion: 2 },
      { source: await followPolicyTopic(transport, 'watch-test'), switchTo: async (next) => void switched.push(next.label), sha256: sha256File, ...logs(), metrics: new InMemoryMetrics() },
    );
    await watcher.waitForVersion(4);
    await watcher.stop();
    await producer.close();
    await transport.close();
    expect(switched).toEqual([`astro-lm@v4.${a.sha256.slice(0, 12)}`]);
  });

  it('accepts a GGUF by its magic bytes and names what anything else starts with', async () => {
    const dir = tempDir();
    const good = await file(dir, 'good.gguf', 'GGUF\u0003\u0000');
    const onnx = await file(dir, 'model.onnx', '\u0008\u0007model');
    await expect(assertGguf(good.path)).resolves.toBeUndefined();
    await expect(assertGguf(onnx.path)).rejects.toThrow(/model\.onnx is not a GGUF file \(it starts with .*, not "GGUF"\)/);
    await expect(assertGguf(join(dir, 'missing.gguf'))).rejects.toThrow(/cannot read .*missing\.gguf/);
  });
});
