import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { AppError } from '../../../operators/common/errors.js';
import { startDashboardServer } from '../../dashboard/dashboardServer.js';
import { DashboardStore } from '../../dashboard/dashboardStore.js';
import { watchRunDir, type DirWatch } from '../../dashboard/dirSource.js';
import { startMetricsHistory } from '../../dashboard/metricsHistory.js';
import { watchTopics, type TopicWatch } from '../../dashboard/topicSource.js';
import { PIPELINE_EDGES } from '../../stages/topology.js';
import { createKafkaTransport } from '../../transport/kafka/kafkaTransport.js';
import type { Transport } from '../../transport/transport.js';
import { intFlag, parseBrokers } from '../runConfig.js';
import { stderrLogger } from '../util.js';

interface DashboardFlags {
  readonly out?: string;
  readonly brokers?: string;
  readonly metrics?: string;
  readonly port: number;
  readonly host: string;
  readonly pollMs: number;
  readonly maxTrees: number;
}

/** `--metrics` URLs: `host:port` or a full URL; `/metrics` is added when no path is given. */
export function parseMetricsUrls(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      let url: URL;
      try {
        url = new URL(/^https?:\/\//.test(s) ? s : `http://${s}`);
      } catch {
        throw new AppError('config', `--metrics: ${JSON.stringify(s)} is not a URL or host:port`);
      }
      if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
      return url.toString();
    });
}

/**
 * `astro-stream dashboard`: a local web page that follows a pipeline while it runs — throughput
 * and lag per stage, solve and valid-tree rates over time and per policy version, the backtrack
 * histogram, the learning curve of a training run, dead letters with reasons — and a search-tree
 * viewer. Reads a dataset directory (`--out`), the topics (`--brokers`) and/or metrics endpoints
 * (`--metrics`). Prints `{"url": ...}` on stdout once listening; stops on SIGINT/SIGTERM.
 */
export function createDashboardCommand(): Command {
  return new Command('dashboard')
    .description('Serve a live dashboard (plots, dead letters, search-tree viewer) of a run directory, the topics and/or metrics endpoints')
    .option('--out <dir>', 'dataset directory to follow (trees/, traces/, manifest.json, dead_letters.jsonl)')
    .option('--brokers <list>', 'read trees, traces, policy versions and DLQs from Kafka (host:port,...), and lag from the broker')
    .option('--metrics <urls>', 'metrics endpoints to poll (host:port or URL, comma-separated): throughput, lag, learning curve')
    .option('--port <p>', 'port of the page; 0 picks a free one', intFlag('--port'), 8080)
    .option('--host <h>', 'interface to bind (default loopback)', '127.0.0.1')
    .option('--poll-ms <ms>', 'how often the directory, endpoints and broker are read', intFlag('--poll-ms'), 2000)
    .option('--max-trees <n>', 'whole trees kept in memory for the viewer (newest); every tree is still counted', intFlag('--max-trees'), 5000)
    .action(async (flags: DashboardFlags) => {
      if (flags.out === undefined && flags.brokers === undefined && flags.metrics === undefined) throw new AppError('config', 'dashboard needs --out DIR, --brokers LIST and/or --metrics URLS');
      if (flags.pollMs < 100) throw new AppError('config', '--poll-ms must be >= 100');
      if (flags.maxTrees < 1) throw new AppError('config', '--max-trees must be >= 1');
      if (flags.out !== undefined && !(await stat(flags.out).then((s) => s.isDirectory(), () => false))) throw new AppError('config', `--out ${flags.out} is not a directory`);
      const logger = stderrLogger('dashboard');
      const urls = flags.metrics === undefined ? [] : parseMetricsUrls(flags.metrics);
      const brokers = flags.brokers === undefined ? undefined : parseBrokers(flags.brokers);
      const store = new DashboardStore(flags.maxTrees);
      const transport: Transport | undefined = brokers === undefined ? undefined : createKafkaTransport({ brokers, clientId: 'astro-stream-dashboard', logger });
      let dir: DirWatch | undefined;
      let topics: TopicWatch | undefined;
      const history = startMetricsHistory({ urls, pollMs: flags.pollMs, keep: 1800, ...(transport === undefined ? {} : { edges: PIPELINE_EDGES }) }, { ...(transport === undefined ? {} : { transport }), logger, clock: Date.now });
      try {
        if (flags.out !== undefined) {
          dir = watchRunDir(flags.out, store, { pollMs: flags.pollMs }, { logger });
          await dir.poll();
        }
        if (transport !== undefined) topics = await watchTopics(transport, store, { logger, groupId: `astro.dashboard.${process.pid}.${Date.now()}` });
        const server = await startDashboardServer(
          { host: flags.host, port: flags.port, source: { dir: flags.out ?? null, brokers: brokers ?? null, metrics: urls } },
          { store, history, clock: Date.now },
        ).catch((error: unknown) => {
          throw new AppError('config', `cannot serve the dashboard on ${flags.host}:${flags.port}: ${error instanceof Error ? error.message : String(error)}`);
        });
        const stopped = new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`);
        logger.info(`dashboard at ${server.url}`);
        await stopped;
        await server.close();
      } finally {
        history.stop();
        dir?.stop();
        // A viewer has nothing to flush or commit: leaving the group may take a moment, never forever.
        const closed = (async () => {
          await topics?.stop();
          await transport?.close();
        })();
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
        logger.info('stopped');
      }
      // A library handle still open (a Kafka client timer) must not keep the process alive; unref'd.
      setTimeout(() => process.exit(0), 2000).unref();
    });
}
