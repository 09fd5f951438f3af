import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { prepareDatasetDir } from '../../sinks/datasetDir.js';
import { domainOf } from '../../../domains/registry.js';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { TREES_TOPIC } from '../../../schemas/searchTree.js';
import { ParquetEncoder } from '../../sinks/parquetEncoder.js';
import { STAGE_GROUPS } from '../../stages/groups.js';
import { archiveSource, datasetDirOf } from '../../replay/archiveSource.js';
import { createNoModelPolicy } from '../../replay/noModelPolicy.js';
import { baseLinearizeConfig, parseTimeFlag, resolveLinearizeConfig } from '../../replay/replayConfig.js';
import { readReplayManifest } from '../../replay/replayManifest.js';
import type { ReplaySource } from '../../replay/replaySource.js';
import { replayTrees, type ReplayReport } from '../../replay/replayTrees.js';
import { topicSource } from '../../replay/topicSource.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import { intFlag, numberFlag, parseBrokers, parseKMix, readConfigFile } from '../runConfig.js';
import { ASTRO_STREAM_VERSION, stderrLogger } from '../util.js';

interface ReplayFlags {
  readonly fromTopic?: string;
  readonly fromDir?: string;
  readonly fromOffset?: number;
  readonly fromTime?: number;
  readonly toTime?: number;
  readonly brokers?: string;
  readonly group?: string;
  readonly out?: string;
  readonly kMix?: string;
  readonly reflectionMinQ?: number;
  readonly reflectionEvery?: number;
  readonly ablation?: boolean;
  readonly linearizeSeed?: number;
  readonly maxTraceChars?: number;
  readonly maxTraceTokens?: number;
  readonly config?: string;
  readonly treesPerFile?: number;
  readonly maxTreesInMemory?: number;
  readonly rebuildWorkers?: number;
  readonly archiveTrees: boolean;
  readonly json?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `--config FILE`: a dataset manifest (its `configs.linearize`: rebuild with exactly what a live
 * run used), a run config (its `linearize` block), or a bare linearizer config.
 */
function linearizeLayerOfFile(path: string): Record<string, unknown> {
  const file = readConfigFile(path);
  const configs = file['configs'];
  if (isObject(configs) && isObject(configs['linearize'])) return configs['linearize'];
  const block = file['linearize'];
  return isObject(block) ? block : file;
}

function flagLayer(flags: ReplayFlags): Record<string, unknown> {
  return {
    kMix: flags.kMix === undefined ? undefined : parseKMix(flags.kMix),
    reflectionMinQ: flags.reflectionMinQ,
    reflectionEverySteps: flags.reflectionEvery,
    ablation: flags.ablation,
    seed: flags.linearizeSeed,
    maxTraceChars: flags.maxTraceChars,
    maxTraceTokens: flags.maxTraceTokens,
  };
}

/** An output directory must be new or empty (a rebuild never mixes with an older dataset's files) and writable. */
async function requireEmptyDir(dir: string): Promise<void> {
  await (await prepareDatasetDir(dir, 'new', { notEmptyHint: 'a replay writes a new dataset directory' })).releaseReserve();
}

/** Human-readable replay report. */
export function formatReplayReport(r: ReplayReport): string {
  const pairs = (o: Readonly<Record<string, number>>): string =>
    Object.entries(o)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ') || '-';
  return [
    `trees            ${r.trees_read} read, ${r.duplicate_trees} duplicates dropped, ${r.bad_records} bad records`,
    `verification     ${r.trees_reverified} trees re-verified, ${r.labels_changed} labels changed, ${r.verdict_timeouts} verdicts timed out`,
    `valid trees      ${r.valid_trees} (invalid ${r.invalid_trees}, failed ${r.failed_trees})`,
    `traces           ${r.traces} (${pairs(r.traces_by_variant)})`,
    `backtracks       ${pairs(r.backtrack_histogram)}`,
    `policy calls     ${r.policy_calls} (the searches cost ${r.search_policy_calls_reused}, reused)`,
    `throughput       ${r.trees_per_s.toFixed(1)} trees/s, ${r.mb_per_s.toFixed(2)} MB/s, ${(r.wall_ms / 1000).toFixed(1)} s`,
    `dataset          ${r.out}/ (${r.files} files, manifest.json)`,
    '',
  ].join('\n');
}

/**
 * `astro-stream replay`: rebuild a dataset from recorded search trees (a topic window read by a
 * fresh consumer group, or a run's Arrow tree archive) with the configured verifier and
 * linearizer. No policy is loaded; the report shows the model calls made (0).
 */
export function createReplayCommand(): Command {
  return new Command('replay')
    .description('Rebuild a dataset from recorded search trees (a topic or a tree archive): re-verify, re-linearize, write Parquet; no model calls')
    .option('--from-topic <topic>', `read trees from this topic (${TREES_TOPIC} or astro.trees.verified.v1); needs --brokers`)
    .option('--from-dir <dir>', 'read trees from a dataset directory or its trees/ archive (an embedded run)')
    .option('--from-offset <n>', 'topic replays: skip records below this offset in every partition', intFlag('--from-offset'))
    .option('--from-time <t>', 'topic replays: keep records with timestamp >= t (epoch ms or ISO date)', parseTimeFlag('--from-time'))
    .option('--to-time <t>', 'topic replays: keep records with timestamp <= t (epoch ms or ISO date)', parseTimeFlag('--to-time'))
    .option('--brokers <list>', 'Kafka bootstrap brokers (host:port,...)')
    .option('--group <id>', 'consumer group id (default: a fresh astro.replay.<uuid>; never a live stage group)')
    .option('--out <dir>', 'new dataset directory (must be new or empty)')
    .option('--k-mix <list>', 'traces per valid tree by k, comma-separated (default: the input dataset\'s, else 0,1,1,2)')
    .option('--reflection-min-q <q>', 'Q an intermediate node needs for a positive reflection, 0-1', numberFlag('--reflection-min-q'))
    .option('--reflection-every <n>', 'at least this many forward steps between reflections', intFlag('--reflection-every'))
    .option('--ablation', 'also emit the count-matched direct-only ablation arm')
    .option('--no-ablation', 'no ablation arm, even if the input dataset had one')
    .option('--linearize-seed <n>', 'seed for picking terminals (default: the input dataset\'s)', intFlag('--linearize-seed'))
    .option('--max-trace-chars <n>', 'drop traces whose completion is longer', intFlag('--max-trace-chars'))
    .option('--max-trace-tokens <n>', "drop traces whose prompt and completion are longer, in the domain tokenizer's tokens or estimated (default 8192)", intFlag('--max-trace-tokens'))
    .option('--config <file>', 'JSON linearizer config, a run config (its "linearize" block) or a dataset manifest.json (its configs.linearize); flags override it')
    .option('--trees-per-file <n>', 'trees per output Parquet file (default 1000)', intFlag('--trees-per-file'))
    .option('--max-trees-in-memory <n>', 'trees held while sorting by tree_id; more spill sorted runs to OUT/.replay-spill (default 20000)', intFlag('--max-trees-in-memory'))
    .option('--rebuild-workers <n>', 'topic replays: worker threads that decode, label and linearize records while the topic is read (default 0; pays off only with idle cores, see bench/results/replay.md)', intFlag('--rebuild-workers'))
    .option('--no-archive-trees', 'do not archive the labelled trees under OUT/trees/')
    .option('--json', 'print the report as JSON')
    .action(async (flags: ReplayFlags) => {
      if ((flags.fromTopic === undefined) === (flags.fromDir === undefined)) throw new AppError('config', 'give exactly one of --from-topic or --from-dir');
      if (flags.out === undefined) throw new AppError('config', '--out is required');
      if (flags.fromDir !== undefined && (flags.fromOffset !== undefined || flags.fromTime !== undefined || flags.toTime !== undefined)) {
        throw new AppError('config', '--from-offset, --from-time and --to-time apply to --from-topic only');
      }
      if (flags.fromTopic !== undefined && flags.brokers === undefined) throw new AppError('config', '--from-topic needs --brokers');
      if (flags.fromTime !== undefined && flags.toTime !== undefined && flags.fromTime > flags.toTime) throw new AppError('config', '--from-time is after --to-time');
      if (flags.fromOffset !== undefined && flags.fromOffset < 0) throw new AppError('config', '--from-offset must be >= 0');
      if (flags.treesPerFile !== undefined && flags.treesPerFile < 1) throw new AppError('config', '--trees-per-file must be >= 1');
      if (flags.maxTreesInMemory !== undefined && flags.maxTreesInMemory < 1) throw new AppError('config', '--max-trees-in-memory must be >= 1');
      if (flags.rebuildWorkers !== undefined && flags.rebuildWorkers < 0) throw new AppError('config', '--rebuild-workers must be >= 0');
      if (flags.rebuildWorkers !== undefined && flags.rebuildWorkers > 0 && flags.fromDir !== undefined) throw new AppError('config', '--rebuild-workers applies to --from-topic only');
      if (flags.group !== undefined && (Object.values(STAGE_GROUPS) as string[]).includes(flags.group)) {
        throw new AppError('config', `--group ${flags.group} is a live stage's group; a replay must not move its offsets`);
      }
      await requireEmptyDir(flags.out);
      const logger = stderrLogger('replay', { quiet: flags.json === true });
      const fileLayer = flags.config === undefined ? {} : linearizeLayerOfFile(flags.config);
      const noModel = createNoModelPolicy();
      const metrics = new InMemoryMetrics();
      const encoder = ParquetEncoder.create({ workers: 1 }, { metrics });
      const command = ['astro-stream', ...process.argv.slice(2)].join(' ');
      const transport =
        flags.fromTopic === undefined
          ? undefined
          : createKafkaTransport({
              brokers: parseBrokers(flags.brokers as string),
              clientId: 'astro-stream-replay',
              logger,
            });
      try {
        let base: Record<string, unknown> = {};
        let source: ReplaySource;
        if (flags.fromDir !== undefined) {
          base = baseLinearizeConfig((await readReplayManifest(await datasetDirOf(flags.fromDir)))?.manifest ?? null);
          source = archiveSource(flags.fromDir);
        } else {
          if (transport === undefined) throw new AppError('config', '--from-topic needs --brokers');
          source = topicSource(
            {
              topic: flags.fromTopic as string,
              groupId: flags.group ?? `astro.replay.${randomUUID()}`,
              ...(flags.fromOffset === undefined ? {} : { fromOffset: flags.fromOffset }),
              ...(flags.fromTime === undefined ? {} : { fromTime: flags.fromTime }),
              ...(flags.toTime === undefined ? {} : { toTime: flags.toTime }),
            },
            { transport, logger },
          );
        }
        const linearize = resolveLinearizeConfig(base, fileLayer, flagLayer(flags));
        const report = await replayTrees(
          source,
          {
            linearize,
            out: flags.out,
            treesPerFile: flags.treesPerFile ?? 1000,
            archiveTrees: flags.archiveTrees,
            command,
            ...(flags.maxTreesInMemory === undefined ? {} : { maxTreesInMemory: flags.maxTreesInMemory }),
            ...(flags.rebuildWorkers === undefined ? {} : { rebuildWorkers: flags.rebuildWorkers }),
          },
          { domainOf, encoder, clock: Date.now, metrics, logger, policyCalls: noModel.calls, version: ASTRO_STREAM_VERSION },
        );
        process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : formatReplayReport(report));
      } finally {
        await encoder.close();
        await transport?.close();
      }
    });
}
