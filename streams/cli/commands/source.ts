import { Command } from 'commander';
import { domainOf } from '../../../domains/registry.js';
import { AppError } from '../../../operators/common/errors.js';
import { InMemoryMetrics } from '../../../operators/common/metrics.js';
import { dlqTopicOf, DeadLetterCodec } from '../../../schemas/deadLetter.js';
import { PROBLEMS_TOPIC } from '../../../schemas/problem.js';
import { PROBLEM_SOURCE_PATTERN, allTopicSpecs, dlqSpecFor, topicSpec } from '../../../schemas/topics.js';
import { createProblemAdmission } from '../../sources/admitProblems.js';
import { PROBLEM_PRESETS, mappingFor } from '../../sources/problemMapping.js';
import { assertReadableFile, generatedRows, readSourceRows, type SourceItem } from '../../sources/sourceRows.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import type { OutgoingRecord } from '../../transport/transport.js';
import { intFlag, parseBrokers } from '../runConfig.js';
import { stderrLogger } from '../util.js';

interface SourceFlags {
  readonly brokers: string;
  readonly topic?: string;
  readonly problems?: number;
  readonly seed?: number;
  readonly numbers?: number;
  readonly file?: string;
  readonly preset?: string;
  readonly question?: string;
  readonly answer?: string;
  readonly solution?: string;
  readonly id?: string;
  readonly sourceName?: string;
  readonly partitions?: number;
}

/** Problems per produce request: big enough to amortize round trips, small enough to show progress. */
const SEND_BATCH = 500;

/**
 * `astro-stream source <countdown|jsonl|parquet>`: publishes problems to a problems topic. The
 * countdown source publishes exactly the problems `run --problems N --seed S` generates (same ids),
 * so a split topology reproduces the embedded run. Bad file rows are reported and published to
 * the topic's DLQ with the reason and their original bytes; the valid rows still go out, and the
 * command exits 3 when any row was dead-lettered.
 */
export function createSourceCommand(): Command {
  return new Command('source')
    .description('Publish problems to astro.problems.v1 (or --topic astro.problems.<name>.v1) on Kafka')
    .argument('<kind>', 'countdown | jsonl | parquet')
    .requiredOption('--brokers <list>', 'Kafka bootstrap brokers, host:port,...')
    .option('--topic <name>', `problems topic (default ${PROBLEMS_TOPIC}; any astro.problems.<name>.v1 is picked up by the search stage)`)
    .option('--problems <n>', 'countdown: how many (default 12); files: at most this many', intFlag('--problems'))
    .option('--seed <s>', 'countdown: generator seed (default 7)', intFlag('--seed'))
    .option('--numbers <n>', 'countdown: how many numbers, 3-6 (default 4)', intFlag('--numbers'))
    .option('--file <path>', 'jsonl/parquet: the file to read')
    .option('--preset <name>', `jsonl/parquet: field mapping preset (${Object.keys(PROBLEM_PRESETS).join(', ')})`)
    .option('--question <field>', 'jsonl/parquet: question field (instead of a preset)')
    .option('--answer <field>', 'jsonl/parquet: answer field')
    .option('--solution <field>', 'jsonl/parquet: solution field the answer is extracted from')
    .option('--id <field>', 'jsonl/parquet: the row\'s own id field')
    .option('--source-name <name>', 'jsonl/parquet: source name recorded in every problem and part of its id (default: the preset\'s, or the file name)')
    .option('--partitions <n>', 'partitions when creating the topic (default 4)', intFlag('--partitions'))
    .action(async (kind: string, flags: SourceFlags) => {
      const topic = flags.topic ?? PROBLEMS_TOPIC;
      if (!PROBLEM_SOURCE_PATTERN.test(topic)) throw new AppError('config', `--topic must match astro.problems[.<name>].v1, got ${JSON.stringify(topic)}`);
      const brokers = parseBrokers(flags.brokers);
      const rows = await rowsOf(kind, flags);
      const published = await publishProblems(brokers, topic, rows, { partitions: flags.partitions ?? 4, limit: kind === 'countdown' ? undefined : flags.problems });
      process.stdout.write(`${JSON.stringify({ topic, ...published })}\n`);
      // Rows that could not be published are a result a script must see (they are in the DLQ).
      if (published.dead_lettered > 0) process.exitCode = 3;
    });
}

/** The source's rows: generated Countdown problems, or a file's rows (checked readable, fields known, before anything is published). */
async function rowsOf(kind: string, flags: SourceFlags): Promise<AsyncIterable<SourceItem> | Iterable<SourceItem>> {
  if (kind === 'countdown') {
    const generate = domainOf('countdown').generate;
    return generatedRows(generate?.({ count: flags.problems ?? 12, seed: flags.seed ?? 7, difficulty: flags.numbers ?? 4 }) ?? [], 'generated countdown problem');
  }
  if (kind !== 'jsonl' && kind !== 'parquet') throw new AppError('config', `unknown source ${JSON.stringify(kind)}; sources: countdown, jsonl, parquet`);
  if (flags.file === undefined) throw new AppError('config', `source ${kind} needs --file`);
  await assertReadableFile(flags.file);
  return readSourceRows(kind, flags.file, mappingFor(flags.file, flags));
}

/**
 * Publishes the rows that pass the admission gate, keyed by problem id, in batches; every other
 * row (unreadable, too large for the topic, an id reused with different content) goes to the
 * topic's DLQ with the reason and its original bytes, and the source goes on. `--problems` bounds
 * the problems published.
 */
async function publishProblems(brokers: string[], topic: string, rows: AsyncIterable<SourceItem> | Iterable<SourceItem>, options: { partitions: number; limit: number | undefined }): Promise<{ published: number; dead_lettered: number; duplicate_rows: number }> {
  const logger = stderrLogger('source');
  const metrics = new InMemoryMetrics();
  const transport = createKafkaTransport({ brokers, clientId: 'astro-stream-source', logger });
  try {
    const specs = new Map([...allTopicSpecs({ partitions: options.partitions }), topicSpec(topic, { partitions: options.partitions }), dlqSpecFor(topic)].map((s) => [s.name, s]));
    await transport.createTopics([...specs.values()]);
    const producer = await transport.producer();
    const admission = createProblemAdmission({ topic }, { clock: Date.now, metrics });
    let published = 0;
    let batch: OutgoingRecord[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await producer.send(topic, batch);
      published += batch.length;
      batch = [];
    };
    for await (const item of rows) {
      const admitted = admission.admit(item);
      if (admitted.kind === 'dead') {
        logger.warn(`${admitted.letter.reason}; the row goes to ${dlqTopicOf(topic)}`);
        await producer.send(dlqTopicOf(topic), [{ key: null, value: DeadLetterCodec.encode(admitted.letter) }]);
        continue;
      }
      if (admitted.kind === 'duplicate') {
        logger.warn(`${item.row.where} repeats problem ${admitted.problem.id}; skipped`);
        continue;
      }
      batch.push(admitted.record);
      if (batch.length >= SEND_BATCH) await flush();
      if (options.limit !== undefined && published + batch.length >= options.limit) break;
    }
    await flush();
    await producer.close();
    return { published, dead_lettered: metrics.counter('source.dead_lettered'), duplicate_rows: metrics.counter('source.duplicate_rows') };
  } finally {
    await transport.close();
  }
}
