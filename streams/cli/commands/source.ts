import { Command } from 'commander';
import { domainOf } from '../../../domains/registry.js';
import { AppError } from '../../../operators/common/errors.js';
import type { Result } from '../../../operators/common/result.js';
import { dlqTopicOf, DeadLetterCodec } from '../../../schemas/deadLetter.js';
import { PROBLEMS_TOPIC, ProblemCodec, type Problem } from '../../../schemas/problem.js';
import { PROBLEM_SOURCE_PATTERN, allTopicSpecs, dlqSpecFor, topicSpec } from '../../../schemas/topics.js';
import { PROBLEM_PRESETS, isProblemPreset, type ProblemFieldMapping } from '../../sources/problemMapping.js';
import { readJsonlProblems } from '../../sources/readJsonlProblems.js';
import { readParquetProblems } from '../../sources/readParquetProblems.js';
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
  readonly partitions?: number;
}

/** Problems per produce request: big enough to amortize round trips, small enough to show progress. */
const SEND_BATCH = 500;

/**
 * `astro-stream source <countdown|jsonl|parquet>`: publishes problems to a problems topic. The
 * countdown source publishes exactly the problems `run --problems N --seed S` generates (same ids),
 * so a split topology reproduces the embedded run. Bad file rows are reported and published to
 * the topic's DLQ with the reason; the valid rows still go out.
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
    .option('--partitions <n>', 'partitions when creating the topic (default 4)', intFlag('--partitions'))
    .action(async (kind: string, flags: SourceFlags) => {
      const topic = flags.topic ?? PROBLEMS_TOPIC;
      if (!PROBLEM_SOURCE_PATTERN.test(topic)) throw new AppError('config', `--topic must match astro.problems[.<name>].v1, got ${JSON.stringify(topic)}`);
      const results = problemsOf(kind, flags);
      const published = await publishProblems(parseBrokers(flags.brokers), topic, results, flags.partitions ?? 4);
      process.stdout.write(`${JSON.stringify({ topic, ...published })}\n`);
    });
}

async function* problemsOf(kind: string, flags: SourceFlags): AsyncGenerator<Result<Problem>> {
  const limit = flags.problems;
  if (kind === 'countdown') {
    const domain = domainOf('countdown');
    for (const problem of domain.generate?.({ count: limit ?? 12, seed: flags.seed ?? 7, difficulty: flags.numbers ?? 4 }) ?? []) yield { ok: true, value: problem };
    return;
  }
  if (kind !== 'jsonl' && kind !== 'parquet') throw new AppError('config', `unknown source ${JSON.stringify(kind)}; sources: countdown, jsonl, parquet`);
  if (flags.file === undefined) throw new AppError('config', `source ${kind} needs --file`);
  const mapping = mappingOf(flags);
  const rows = kind === 'jsonl' ? readJsonlProblems(flags.file, mapping) : readParquetProblems(flags.file, mapping);
  let valid = 0;
  for await (const row of rows) {
    yield row;
    if (row.ok) valid += 1;
    if (limit !== undefined && valid >= limit) return;
  }
}

function mappingOf(flags: SourceFlags): ProblemFieldMapping {
  if (flags.preset !== undefined) {
    if (!isProblemPreset(flags.preset)) throw new AppError('config', `unknown preset ${JSON.stringify(flags.preset)}; presets: ${Object.keys(PROBLEM_PRESETS).join(', ')}`);
    return PROBLEM_PRESETS[flags.preset];
  }
  if (flags.question === undefined || (flags.answer === undefined && flags.solution === undefined)) {
    throw new AppError('config', 'give --preset, or --question and --answer/--solution field names');
  }
  return {
    source: flags.file?.split('/').pop()?.replace(/\.[^.]+$/, '') ?? 'file',
    question: flags.question,
    ...(flags.answer === undefined ? {} : { answer: flags.answer }),
    ...(flags.solution === undefined ? {} : { solution: flags.solution }),
    ...(flags.id === undefined ? {} : { id: flags.id }),
  };
}

/** Publishes valid problems keyed by id; failed rows go to the topic's DLQ with the reason. */
async function publishProblems(brokers: string[], topic: string, results: AsyncIterable<Result<Problem>>, partitions: number): Promise<{ published: number; dead_lettered: number }> {
  const logger = stderrLogger('source');
  const transport = createKafkaTransport({ brokers, clientId: 'astro-stream-source', logger });
  try {
    const specs = new Map([...allTopicSpecs({ partitions }), topicSpec(topic, { partitions }), dlqSpecFor(topic)].map((s) => [s.name, s]));
    await transport.createTopics([...specs.values()]);
    const producer = await transport.producer();
    let published = 0;
    let deadLettered = 0;
    let batch: OutgoingRecord[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await producer.send(topic, batch);
      published += batch.length;
      batch = [];
    };
    let row = 0;
    for await (const result of results) {
      row += 1;
      if (result.ok) {
        batch.push({ key: result.value.id, value: ProblemCodec.encode(result.value) });
        if (batch.length >= SEND_BATCH) await flush();
        continue;
      }
      logger.warn(`skipping bad row: ${result.error.message}`);
      deadLettered += 1;
      const original = result.input === undefined ? '' : JSON.stringify(result.input);
      await producer.send(dlqTopicOf(topic), [
        {
          key: null,
          value: DeadLetterCodec.encode({
            source_topic: topic,
            source_partition: 0,
            source_offset: row,
            key: null,
            value_base64: Buffer.from(original ?? '').toString('base64'),
            stage: 'source',
            error_kind: result.error.kind,
            retriable: false,
            reason: result.error.message,
            failed_at: Date.now(),
          }),
        },
      ]);
    }
    await flush();
    await producer.close();
    return { published, dead_lettered: deadLettered };
  } finally {
    await transport.close();
  }
}
