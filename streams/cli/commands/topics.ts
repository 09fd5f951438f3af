import { Command } from 'commander';
import { allTopicSpecs, describeTopics } from '../../../schemas/topics.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import { intFlag, parseBrokers } from '../runConfig.js';
import { stderrLogger } from '../util.js';

interface TopicsFlags {
  readonly brokers?: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
}

/** `astro-stream topics create|describe`: the topics of `schemas/topics.ts`, with their DLQs. */
export function createTopicsCommand(): Command {
  const topics = new Command('topics').description('Create or describe the topics of the registry (schemas/topics.ts)');
  topics
    .command('create')
    .description('Create every topic and its DLQ (partitions and retention per topic; trees kept forever); existing topics are left as they are')
    .requiredOption('--brokers <list>', 'Kafka bootstrap brokers, host:port,...')
    .option('--partitions <n>', 'partitions of the data topics (default 4; the policy topic has 1)', intFlag('--partitions'))
    .option('--replication-factor <n>', 'replication factor (default 1; use 3 on a 3-broker cluster)', intFlag('--replication-factor'))
    .action(async (flags: TopicsFlags) => {
      const specs = allTopicSpecs({
        ...(flags.partitions === undefined ? {} : { partitions: flags.partitions }),
        ...(flags.replicationFactor === undefined ? {} : { replicationFactor: flags.replicationFactor }),
      });
      const transport = createKafkaTransport({ brokers: parseBrokers(flags.brokers ?? ''), clientId: 'astro-stream-topics', logger: stderrLogger('topics') });
      try {
        await transport.createTopics(specs);
        for (const spec of specs) process.stdout.write(`${JSON.stringify(spec)}\n`);
      } finally {
        await transport.close();
      }
    });
  topics
    .command('describe')
    .description('List the registry; with --brokers also each topic\'s end offsets on the cluster')
    .option('--brokers <list>', 'Kafka bootstrap brokers, host:port,...')
    .action(async (flags: TopicsFlags) => {
      const registry = describeTopics();
      if (flags.brokers === undefined) {
        for (const t of registry) process.stdout.write(`${JSON.stringify(t)}\n`);
        return;
      }
      const transport = createKafkaTransport({ brokers: parseBrokers(flags.brokers), clientId: 'astro-stream-topics', logger: stderrLogger('topics') });
      try {
        const existing = new Set(await transport.listTopics());
        for (const t of registry) {
          const end = existing.has(t.name) ? Object.fromEntries(await transport.endOffsets(t.name)) : null;
          process.stdout.write(`${JSON.stringify({ ...t, exists: existing.has(t.name), end_offsets: end })}\n`);
        }
      } finally {
        await transport.close();
      }
    });
  return topics;
}
