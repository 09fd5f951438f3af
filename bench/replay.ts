/**
 * Replay benchmark: rebuilding a dataset from `astro.trees.v1` (consume, decode, verify,
 * linearize, Parquet, manifest) against a raw consume of the same topic by a fresh group (the
 * Kafka client alone, no transport) in the same run, on a local single-node broker. Target:
 * replay ≥ 0.5× raw trees/s.
 *
 * Trees are real and distinct: an in-process run of the built-in Countdown pipeline on `trees`
 * generated problems (one search each). Each in-thread replay gets a fresh Countdown verifier, so
 * no verdict is remembered from an earlier round (a replay CLI starts with none either).
 *
 * The full replay runs once per rebuild-worker setting (`workers`, comma-separated; 0 = decode and
 * rebuild on the main thread, `default` = the replay's default); the ratio is the default's. The
 * kafkajs transport was measured side by side before it was removed (BENCHMARKS.md; commit
 * 81693eb runs both: `[clients=kafkajs,platformatic]` as a fifth argument).
 *
 * usage: npx tsc -p tsconfig.json && node dist/bench/replay.js [trees=3000] [rounds=3] [workers=default,1]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Consumer as PlatformaticConsumer, MessagesStreamModes } from '@platformatic/kafka';
import { createCountdownVerifier } from '../domains/countdown/verifier.js';
import { domainOf } from '../domains/registry.js';
import { silentLogger } from '../operators/common/metrics.js';
import { defaultLinearizeConfig } from '../operators/linearize/linearizeConfig.js';
import { createMathVerifier } from '../operators/verify/math/mathVerifier.js';
import type { Verifier } from '../operators/verify/verifier.js';
import { SearchTreeCodec, TREES_TOPIC, type SearchTree } from '../schemas/searchTree.js';
import { runPipeline } from '../streams/cli/commands/run.js';
import { parseRunConfig } from '../streams/cli/runConfig.js';
import { archiveSource } from '../streams/replay/archiveSource.js';
import { createNoModelPolicy } from '../streams/replay/noModelPolicy.js';
import { replayTrees, type ReplayReport } from '../streams/replay/replayTrees.js';
import { topicSource } from '../streams/replay/topicSource.js';
import { ParquetEncoder } from '../streams/sinks/parquetEncoder.js';
import { readTreeArchive } from '../streams/sinks/treeArchiveSink.js';
import { startLocalKafka } from '../streams/transport/kafka/localCluster.js';
import { createKafkaTransport } from '../streams/transport/kafka/kafkaTransport.js';

const total = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const workerSettings: (number | undefined)[] = (process.argv[4] ?? 'default,1').split(',').map((w) => (w === 'default' ? undefined : Number(w)));
const settingName = (w: number | undefined): string => (w === undefined ? 'default' : String(w));

const PARTITIONS = 4;

interface Measure {
  readonly trees: number;
  readonly bytes: number;
  readonly ms: number;
}
const rate = (m: Measure): { treesPerS: number; mbPerS: number } => ({ treesPerS: m.trees / (m.ms / 1000), mbPerS: m.bytes / 1e6 / (m.ms / 1000) });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** The baseline: a fresh group of the Kafka client alone streams the whole topic (no decode), from connect to the last offset. */
async function rawConsume(brokers: string[], group: string, ends: Map<number, number>): Promise<Measure> {
  const started = performance.now();
  const consumer = new PlatformaticConsumer({ clientId: 'bench-raw', groupId: group, bootstrapBrokers: brokers, maxWaitTime: 500, autocommit: false });
  const stream = await consumer.consume({ topics: [TREES_TOPIC], mode: MessagesStreamModes.EARLIEST, autocommit: false });
  let trees = 0;
  let bytes = 0;
  const pending = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  await new Promise<void>((resolve) => {
    stream.on('data', (m) => {
      trees += 1;
      bytes += m.value?.byteLength ?? 0;
      if (Number(m.offset) === (ends.get(m.partition) ?? 0) - 1) pending.delete(m.partition);
      if (pending.size === 0) resolve();
    });
  });
  const ms = performance.now() - started;
  await consumer.close(true);
  return { trees, bytes, ms };
}

/** New verifiers of the built-in domains (no verdict remembered), for one replay. */
function freshVerifiers(): (domain: string) => Verifier {
  const verifiers = new Map<string, Verifier>([
    ['countdown', createCountdownVerifier()],
    ['math', createMathVerifier()],
  ]);
  return (domain) => verifiers.get(domain) ?? domainOf(domain).verifier;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'astro-bench-replay-'));
  const cluster = await startLocalKafka({ nodes: 1, dir: join(work, 'kafka'), fresh: true, heapMb: 512 });
  const brokers = cluster.bootstrap.split(',');
  const encoder = ParquetEncoder.create({ workers: 1 });
  try {
    // Real trees from the built-in pipeline (in memory), one search per problem.
    const run = join(work, 'run');
    const searchStarted = performance.now();
    await runPipeline(parseRunConfig({ problems: total, seed: 3, numbers: 3, out: run, search: { iterations: 16 } }), { progress: null, logger: silentLogger });
    const trees: SearchTree[] = [];
    for await (const t of readTreeArchive(run)) trees.push(t as SearchTree);
    const searchMs = performance.now() - searchStarted;
    const transport = createKafkaTransport({ brokers, logLevel: 'error' });
    await transport.createTopics([{ name: TREES_TOPIC, partitions: PARTITIONS, retentionMs: -1 }]);
    const producer = await transport.producer();
    for (let i = 0; i < trees.length; i += 50) {
      await producer.send(TREES_TOPIC, trees.slice(i, i + 50).map((t) => ({ key: t.problem_id, value: SearchTreeCodec.encode(t) })));
    }
    await producer.close();
    const ends = await transport.endOffsets(TREES_TOPIC);
    const topicBytes = trees.reduce((n, t) => n + SearchTreeCodec.encode(t).byteLength, 0);
    process.stdout.write(`topic: ${trees.length} distinct trees (searched in ${(searchMs / 1000).toFixed(1)} s), ${(topicBytes / 1e6).toFixed(1)} MB, ${PARTITIONS} partitions\n`);

    const raw: Measure[] = [];
    const replay = new Map<string, Measure[]>(workerSettings.map((w) => [settingName(w), []]));
    const readOnly: Measure[] = [];
    let lastReport: ReplayReport | undefined;
    for (let r = 0; r < rounds; r++) {
      raw.push(await rawConsume(brokers, `bench.raw.${r}`, ends));
      // Read + decode only (the replay's source), to split transport cost from rebuild cost.
      {
        let n = 0;
        let b = 0;
        const t0 = performance.now();
        await topicSource({ topic: TREES_TOPIC, groupId: `bench.read.${r}` }, { transport }).read((t) => {
          n += 1;
          b += t.bytes;
        });
        readOnly.push({ trees: n, bytes: b, ms: performance.now() - t0 });
      }
      for (const workers of workerSettings) {
        const name = settingName(workers);
        const out = join(work, `replay-${r}-${name}`);
        const noModel = createNoModelPolicy();
        const t0 = performance.now();
        lastReport = await replayTrees(
          topicSource({ topic: TREES_TOPIC, groupId: `bench.replay.${r}.${name}` }, { transport }),
          { linearize: defaultLinearizeConfig, out, treesPerFile: 1000, archiveTrees: false, command: 'bench', ...(workers === undefined ? {} : { rebuildWorkers: workers }) },
          // A fresh verifier per replay (in-thread); workers build their own.
          { domainOf, ...(workers === undefined || workers === 0 ? { verifierOf: freshVerifiers() } : {}), encoder, clock: Date.now, policyCalls: noModel.calls, version: 'bench' },
        );
        replay.get(name)?.push({ trees: lastReport.trees_read, bytes: lastReport.source_bytes, ms: performance.now() - t0 });
        process.stdout.write(
          `  round ${r}, workers ${name}: replay ${lastReport.wall_ms} ms = read (+ rebuild on workers) ${lastReport.read_ms} + rebuild ${lastReport.wall_ms - lastReport.read_ms - lastReport.write_wait_ms} + final write wait ${lastReport.write_wait_ms}\n`,
        );
        await rm(out, { recursive: true, force: true });
      }
    }
    // The same trees from an Arrow archive on disk (the embedded-run path).
    const archiveOut = join(work, 'archive-replay');
    const archiveReport = await replayTrees(
      archiveSource(run),
      { linearize: defaultLinearizeConfig, out: archiveOut, treesPerFile: 1000, archiveTrees: false, command: 'bench' },
      { domainOf, encoder, clock: Date.now, version: 'bench' },
    );
    await transport.close();

    const show = (name: string, ms: Measure[]): { treesPerS: number; mbPerS: number } => {
      const m = { trees: ms[0]?.trees ?? 0, bytes: ms[0]?.bytes ?? 0, ms: median(ms.map((x) => x.ms)) };
      const r = rate(m);
      process.stdout.write(`${name.padEnd(34)} ${m.trees} trees  median ${m.ms.toFixed(0).padStart(6)} ms  ${r.treesPerS.toFixed(0).padStart(6)} trees/s  ${r.mbPerS.toFixed(2).padStart(6)} MB/s\n`);
      return r;
    };
    const base1 = show('raw @platformatic/kafka consume (baseline)', raw);
    const read1 = show('replay source: consume + decode', readOnly);
    const full = new Map([...replay].map(([name, ms]) => [name, show(`replay (workers ${name})`, ms)]));
    const ratios = [...full].map(([name, r]) => `workers ${name}: ${(r.treesPerS / base1.treesPerS).toFixed(2)}`).join(', ');
    process.stdout.write(`ratio replay/raw trees/s: ${ratios} (target >= 0.5); read+decode/raw: ${(read1.treesPerS / base1.treesPerS).toFixed(2)}\n`);
    process.stdout.write(
      `replay report (last round): ${lastReport?.traces} traces, ${lastReport?.policy_calls} policy calls; archive replay of the same ${archiveReport.trees_read} trees: ${archiveReport.trees_per_s.toFixed(0)} trees/s\n`,
    );
  } finally {
    await encoder.close();
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
