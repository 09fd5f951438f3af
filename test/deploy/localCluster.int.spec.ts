import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createKafkaCommand } from '../../streams/cli/commands/kafka.js';
import { ensureKafkaJars, findRepoRoot, localKafkaStatus, processRssBytes, startLocalKafka, stopLocalKafka } from '../../streams/transport/kafka/localCluster.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'astro-kafka-deploy-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) {
    await stopLocalKafka(d);
    rmSync(d, { recursive: true, force: true });
  }
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

async function topics(bootstrap: string): Promise<string[]> {
  const admin = new Admin({ clientId: 'test-deploy', bootstrapBrokers: bootstrap.split(',') });
  try {
    return await admin.listTopics();
  } finally {
    await admin.close();
  }
}

describe('local Kafka cluster management', () => {
  it('finds the repo root and does not rerun Maven when the jars are there', async () => {
    const root = findRepoRoot();
    expect(existsSync(join(root, 'deploy', 'kafka', 'pom.xml'))).toBe(true);
    await ensureKafkaJars(root);
    const t0 = performance.now();
    const libs = await ensureKafkaJars(root);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(libs).toBe(join(root, '.kafka', 'libs'));
  });

  it('starts a broker, replaces a stale one left in the same dir, keeps its data, stops by pid file', async () => {
    const dir = tempDir();
    const first = await startLocalKafka({ nodes: 1, dir, heapMb: 384 });
    const node = first.nodes[0]!;
    const rss = processRssBytes(node.pid);
    process.stderr.write(
      `[kafka 1-node] format ${Math.round(first.timings.formatMs)} ms, start ${Math.round(first.timings.startMs)} ms, RSS ${Math.round((rss ?? 0) / 2 ** 20)} MiB\n`,
    );
    expect(rss).toBeGreaterThan(50 * 2 ** 20);
    expect(Number(readFileSync(join(dir, 'node-1', 'kafka.pid'), 'utf8'))).toBe(node.pid);
    expect(readFileSync(join(dir, 'node-1', 'kafka.log'), 'utf8')).toContain('Kafka Server started');
    const admin = new Admin({ clientId: 'test-deploy', bootstrapBrokers: [first.bootstrap] });
    await admin.createTopics({ topics: ['survives-restart'], partitions: 1, replicas: 1 });
    await admin.close();

    // A new run in the same dir while the old JVM still runs (its owner "crashed").
    const second = await startLocalKafka({ nodes: 1, dir, heapMb: 384 });
    expect(alive(node.pid)).toBe(false);
    expect(second.nodes[0]!.pid).not.toBe(node.pid);
    expect(second.bootstrap).toBe(first.bootstrap);
    expect(second.clusterId).toBe(first.clusterId);
    expect(await topics(second.bootstrap)).toContain('survives-restart');

    const pid = second.nodes[0]!.pid;
    await stopLocalKafka(dir);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dir, 'node-1', 'kafka.pid'))).toBe(false);
    await stopLocalKafka(dir); // nothing left to stop: a no-op
  }, 120_000);

  it('refuses at once to start on a port that is taken, leaving no JVM behind', async () => {
    const dir = tempDir();
    const blocker = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', () => ok()));
    const addr = blocker.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    try {
      const t0 = performance.now();
      const err = await startLocalKafka({ nodes: 1, dir, basePort: port, heapMb: 256 }).then(() => null, (e: unknown) => e);
      expect(String((err as Error).message)).toContain(`port ${port}`);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(existsSync(join(dir, 'node-1', 'kafka.pid'))).toBe(false);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('fails fast with the broker log tail when a JVM exits during startup', async () => {
    const dir = tempDir();
    // An invalid heap size makes java exit at once: the launcher must notice and show the log.
    const t0 = performance.now();
    const err = await startLocalKafka({ nodes: 1, dir, heapMb: -1 }).then(() => null, (e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/exited during startup[\s\S]*(Invalid|heap)/i);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(existsSync(join(dir, 'node-1', 'kafka.pid'))).toBe(false);
  }, 60_000);

  it('`kafka up` prints the bootstrap address and leaves the broker running; `kafka down` stops it', async () => {
    const dir = tempDir();
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await createKafkaCommand().parseAsync(['up', '--dir', dir, '--heap-mb', '384'], { from: 'user' });
    } finally {
      spy.mockRestore();
      err.mockRestore();
    }
    const bootstrap = out.join('').trim();
    expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    const pid = Number(readFileSync(join(dir, 'node-1', 'kafka.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);
    expect(Array.isArray(await topics(bootstrap))).toBe(true);
    expect(localKafkaStatus(dir)).toMatchObject({ bootstrap, running: true, nodes: [{ id: 1, pid }] });

    // A second `up` on the same dir returns the running broker instead of restarting it.
    const out2: string[] = [];
    const spy2 = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out2.push(String(chunk));
      return true;
    });
    const err3 = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await createKafkaCommand().parseAsync(['up', '--dir', dir], { from: 'user' });
    } finally {
      spy2.mockRestore();
      err3.mockRestore();
    }
    expect(out2.join('').trim()).toBe(bootstrap);
    expect(Number(readFileSync(join(dir, 'node-1', 'kafka.pid'), 'utf8'))).toBe(pid);

    const err2 = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await createKafkaCommand().parseAsync(['down', '--dir', dir], { from: 'user' });
    } finally {
      err2.mockRestore();
    }
    expect(alive(pid)).toBe(false);
    expect(localKafkaStatus(dir)?.running).toBe(false);
  }, 120_000);
});
