import { Counter, Gauge, type Registry } from 'prom-client';
import { DLQ_SUFFIX } from '../../schemas/deadLetter.js';
import type { ShardFile } from '../sinks/manifest.js';
import type { RunningStage } from '../stages/stageRuntime.js';
import type { Transport } from '../transport/transport.js';
import { METRIC_PREFIX } from './families.js';

/** What a process runs, read at each scrape: levels are computed then, never on the hot path. */
export interface WatchedPipeline {
  /** The stages running in this process (in flight, paused, and the groups whose lag to report). */
  readonly stages: () => readonly RunningStage[];
  /** Where committed and end offsets are read for consumer lag. */
  readonly transport?: Transport;
  /** Dataset files written by this process's sinks (bytes per kind). */
  readonly files?: () => readonly ShardFile[];
}

/** Numeric levels read from a component at each scrape (`serve-policy`'s queue, a server's stats). */
export type StatsSource = () => Readonly<Record<string, number>>;

export interface CollectorOptions {
  /** A scrape waits at most this long for offsets (a broker that is down must not hang it). Default 5000. */
  readonly lagTimeoutMs?: number;
  readonly onError?: (what: string, error: unknown) => void;
}

const name = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;

/** Resolves with `promise`, or rejects after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Topics a stage consumes now: its list, or the existing topics its pattern matches (never DLQs). */
async function topicsOf(stage: RunningStage, transport: Transport): Promise<readonly string[]> {
  if (!(stage.topics instanceof RegExp)) return stage.topics;
  const pattern = stage.topics;
  return (await transport.listTopics()).filter((t) => pattern.test(t) && !t.endsWith(DLQ_SUFFIX));
}

/**
 * Registers the scrape-time families of running pipelines on `registry`: per stage in-flight
 * records and whether fetching is paused; per group, topic and partition the committed offset,
 * the end offset and the lag between them; per dataset file kind the bytes written; and the
 * valid-tree ratio. `pipelines` is read at every scrape, so stages started later are included.
 */
export function registerPipelineCollectors(registry: Registry, pipelines: () => readonly WatchedPipeline[], levels: () => readonly { readonly prefix: string; readonly read: StatsSource }[], options: CollectorOptions = {}): void {
  const lagTimeoutMs = options.lagTimeoutMs ?? 5_000;
  const onError = options.onError ?? (() => undefined);
  const registers = [registry];
  const stages = (): RunningStage[] => pipelines().flatMap((p) => p.stages());

  new Gauge({
    name: name('stage_in_flight'),
    help: 'Records a stage received and has not finished (what backpressure bounds).',
    labelNames: ['stage'],
    registers,
    collect() {
      this.reset();
      for (const s of stages()) this.inc({ stage: s.name }, s.stats().inFlight);
    },
  });
  new Gauge({
    name: name('stage_paused'),
    help: '1 while a stage has paused fetching (backpressure), else 0.',
    labelNames: ['stage'],
    registers,
    collect() {
      this.reset();
      for (const s of stages()) this.set({ stage: s.name }, s.stats().paused ? 1 : 0);
    },
  });

  // One lookup per scrape feeds the three offset families; each family's collect awaits the same one.
  let pending: Promise<readonly OffsetRow[]> | undefined;
  // The last rows read per group and topic: a lookup that fails (a broker restarting, or a run's
  // transport closed while the endpoint lingers) reports them again rather than nothing.
  const lastKnown = new Map<string, readonly OffsetRow[]>();
  const offsets = (): Promise<readonly OffsetRow[]> => {
    pending ??= readOffsets(pipelines(), lagTimeoutMs, lastKnown, onError).finally(() => {
      // Cleared on the next tick, after every family of this scrape has read it.
      setImmediate(() => (pending = undefined));
    });
    return pending;
  };
  const offsetGauge = (suffix: string, help: string, labelNames: readonly string[], pick: (row: OffsetRow) => number, labelsOf: (row: OffsetRow) => Record<string, string>) =>
    new Gauge({
      name: name(suffix),
      help,
      labelNames: [...labelNames],
      registers,
      async collect() {
        const rows = await offsets();
        this.reset();
        for (const row of rows) this.set(labelsOf(row), pick(row));
      },
    });
  const partitionLabels = (r: OffsetRow): Record<string, string> => ({ group: r.group, topic: r.topic, partition: String(r.partition) });
  offsetGauge('consumer_lag', 'Records produced to a partition and not yet committed by the group (end offset - committed offset).', ['group', 'topic', 'partition'], (r) => r.lag, partitionLabels);
  offsetGauge('consumer_committed_offset', 'Next offset the group will read (its committed position).', ['group', 'topic', 'partition'], (r) => r.committed, partitionLabels);
  offsetGauge('topic_end_offset', 'End offset (high-water mark) of a partition.', ['topic', 'partition'], (r) => r.end, (r) => ({ topic: r.topic, partition: String(r.partition) }));

  new Counter({
    name: name('sink_bytes_total'),
    help: 'Bytes of dataset files written by this process, by kind (traces, trees).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const p of pipelines()) for (const f of p.files?.() ?? []) this.inc({ kind: f.kind }, f.bytes);
    },
  });

  new Gauge({
    name: name('component_stat'),
    help: 'Numbers a component reports about itself (serve-policy: requests, in flight, queued, ...), by component and field.',
    labelNames: ['component', 'field'],
    registers,
    collect() {
      this.reset();
      for (const source of levels()) {
        try {
          for (const [field, value] of Object.entries(source.read())) if (Number.isFinite(value)) this.set({ component: source.prefix, field }, value);
        } catch (error) {
          onError(`levels of ${source.prefix}`, error);
        }
      }
    },
  });
}

interface OffsetRow {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly committed: number;
  readonly end: number;
  readonly lag: number;
}

async function readOffsets(pipelines: readonly WatchedPipeline[], timeoutMs: number, lastKnown: Map<string, readonly OffsetRow[]>, onError: (what: string, error: unknown) => void): Promise<readonly OffsetRow[]> {
  const seen = new Set<string>();
  for (const pipeline of pipelines) {
    const transport = pipeline.transport;
    if (transport === undefined) continue;
    for (const stage of pipeline.stages()) {
      let topics: readonly string[];
      try {
        topics = await within(topicsOf(stage, transport), timeoutMs, `topics of ${stage.name}`);
      } catch (error) {
        onError(`topics of ${stage.name}`, error);
        for (const key of lastKnown.keys()) if (key.startsWith(`${stage.groupId}\u0000`)) seen.add(key);
        continue;
      }
      for (const topic of topics) {
        const key = `${stage.groupId}\u0000${topic}`;
        if (seen.has(key)) continue;
        seen.add(key);
        try {
          const [end, committed] = await within(Promise.all([transport.endOffsets(topic), transport.committedOffsets(stage.groupId, topic)]), timeoutMs, `offsets of ${stage.groupId} on ${topic}`);
          // No commit yet: the group starts from the beginning (every stage does), so all of it is lag.
          lastKnown.set(key, [...end].map(([partition, endOffset]) => ({ group: stage.groupId, topic, partition, committed: committed.get(partition) ?? 0, end: endOffset, lag: Math.max(0, endOffset - (committed.get(partition) ?? 0)) })));
        } catch (error) {
          onError(`consumer lag of ${stage.groupId} on ${topic}`, error);
        }
      }
    }
  }
  return [...seen].flatMap((key) => lastKnown.get(key) ?? []);
}
