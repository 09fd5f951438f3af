import type { Logger } from '../../operators/common/metrics.js';
import { parseExposition, type Sample } from '../metrics/parseExposition.js';
import { lagOf, type DrainEdge } from '../stages/drain.js';
import type { Transport } from '../transport/transport.js';

/** One poll of every metrics endpoint (and the broker's offsets), reduced to what the panels plot. */
export interface MetricsPoint {
  /** Epoch ms of the poll. */
  readonly t: number;
  /** Cumulative records received per stage (summed over topics and processes). */
  readonly records_in: Readonly<Record<string, number>>;
  readonly records_out: Readonly<Record<string, number>>;
  /** Records not yet committed, per consumer group (summed over topics and partitions). */
  readonly lag: Readonly<Record<string, number>>;
  readonly in_flight: Readonly<Record<string, number>>;
  readonly dead_letters: number;
  /** Last optimizer step's losses by component (training runs). */
  readonly trainer_loss: Readonly<Record<string, number>>;
  readonly policy_version: number | null;
  readonly rollout_samples: number | null;
  readonly rollout_correct: number | null;
}

const bySum = (samples: readonly Sample[], name: string, label: string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name) out[s.labels[label] ?? ''] = (out[s.labels[label] ?? ''] ?? 0) + s.value;
  return out;
};

const total = (samples: readonly Sample[], name: string): number | null => {
  let sum: number | null = null;
  for (const s of samples) if (s.name === name) sum = (sum ?? 0) + s.value;
  return sum;
};

/**
 * Reduces the samples of several endpoints (one per process) to one point. Counters add up
 * across processes; lag is reported by every member of a group for the same partitions, so it is
 * taken once per (group, topic, partition) before summing.
 */
export function pointOf(t: number, samples: readonly Sample[]): MetricsPoint {
  const lagParts = new Map<string, { group: string; value: number }>();
  for (const s of samples) {
    if (s.name !== 'astro_consumer_lag') continue;
    const key = `${s.labels['group']}\u0000${s.labels['topic']}\u0000${s.labels['partition']}`;
    const prev = lagParts.get(key);
    lagParts.set(key, { group: s.labels['group'] ?? '', value: Math.max(prev?.value ?? 0, s.value) });
  }
  const lag: Record<string, number> = {};
  for (const { group, value } of lagParts.values()) lag[group] = (lag[group] ?? 0) + value;
  const versions = samples.filter((s) => s.name === 'astro_trainer_policy_version').map((s) => s.value);
  return {
    t,
    records_in: bySum(samples, 'astro_stage_records_in_total', 'stage'),
    records_out: bySum(samples, 'astro_stage_records_out_total', 'stage'),
    lag,
    in_flight: bySum(samples, 'astro_stage_in_flight', 'stage'),
    dead_letters: total(samples, 'astro_dead_letters_total') ?? 0,
    trainer_loss: bySum(samples, 'astro_trainer_loss', 'component'),
    policy_version: versions.length > 0 ? Math.max(...versions) : null,
    rollout_samples: total(samples, 'astro_rollout_samples_total'),
    rollout_correct: total(samples, 'astro_rollout_correct_total'),
  };
}

export interface MetricsHistory {
  points(): readonly MetricsPoint[];
  /** The last error per endpoint (or the broker), empty when all answered. */
  errors(): Readonly<Record<string, string>>;
  stop(): void;
}

export interface MetricsHistoryOptions {
  readonly urls: readonly string[];
  readonly pollMs: number;
  /** Points kept (the oldest are dropped). */
  readonly keep: number;
  /** With a transport: lag of these edges read from the broker, for deployments without endpoints. */
  readonly edges?: readonly DrainEdge[];
}

/**
 * Polls the metrics endpoints (and, given a transport, the broker's offsets) every `pollMs` and
 * keeps the last `keep` points, so a page opened late still sees the history.
 */
export function startMetricsHistory(options: MetricsHistoryOptions, deps: { readonly transport?: Transport; readonly logger: Logger; readonly clock: () => number }): MetricsHistory {
  const points: MetricsPoint[] = [];
  const errors: Record<string, string> = {};
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const scrape = async (url: string): Promise<Sample[]> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1_000, options.pollMs)) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      delete errors[url];
      return parseExposition(await res.text());
    } catch (error) {
      errors[url] = error instanceof Error ? error.message : String(error);
      return [];
    }
  };

  const brokerLag = async (): Promise<Record<string, number> | undefined> => {
    if (deps.transport === undefined || options.edges === undefined) return undefined;
    const lag: Record<string, number> = {};
    try {
      for (const edge of options.edges) lag[edge.groupId] = (lag[edge.groupId] ?? 0) + (await lagOf(deps.transport, edge));
      delete errors['broker'];
      return lag;
    } catch (error) {
      errors['broker'] = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  };

  const poll = async (): Promise<void> => {
    const t = deps.clock();
    const [samples, fromBroker] = await Promise.all([Promise.all(options.urls.map(scrape)).then((all) => all.flat()), brokerLag()]);
    const point = pointOf(t, samples);
    points.push(fromBroker === undefined ? point : { ...point, lag: { ...point.lag, ...fromBroker } });
    if (points.length > options.keep) points.shift();
  };

  const loop = (): void => {
    if (stopped) return;
    poll()
      .catch((error: unknown) => deps.logger.warn('dashboard: metrics poll failed', { error: String(error) }))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, options.pollMs);
      });
  };
  if (options.urls.length > 0 || options.edges !== undefined) loop();
  return {
    points: () => points,
    errors: () => ({ ...errors }),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
