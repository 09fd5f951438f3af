import { Command } from 'commander';
import { AppError } from '../../../operators/common/errors.js';
import { createOnnxCountdownPolicy } from '../../policies/onnxPolicy.js';
import { DEFAULT_MAX_QUEUE, startPolicyServer } from '../../server/policyServer.js';
import { intFlag } from '../runConfig.js';
import { stderrLogger } from '../util.js';
import { addMetricsOptions, metricsEndpointFromFlags, type MetricsFlags } from '../../metrics/metricsFlags.js';
import type { PolicyServerStats } from '../../server/policyServer.js';

/** The server's counters and levels as flat numbers (`injected.errors` → `injected_errors`). */
const flatStats = (stats: PolicyServerStats): Record<string, number> => {
  const { injected, ...rest } = stats;
  return { ...rest, injected_errors: injected.errors, injected_slow: injected.slow, injected_truncated: injected.truncated };
};

interface ServePolicyFlags {
  readonly port: number;
  readonly host: string;
  readonly latencyMs: number;
  readonly maxConcurrency: number;
  readonly maxQueue: number;
  readonly modelName: string;
  readonly model?: string;
  readonly errorEvery: number;
  readonly slowEvery: number;
  readonly slowMs: number;
  readonly truncateEvery: number;
}

/**
 * `astro-stream serve-policy`: the built-in ONNX Countdown policy behind an OpenAI-compatible
 * server, with emulated latency, a concurrency cap and injectable failures. Prints one JSON line
 * `{"baseUrl": ..., "port": ...}` on stdout once listening; stops cleanly on SIGINT/SIGTERM.
 */
export function createServePolicyCommand(): Command {
  return addMetricsOptions(new Command('serve-policy'))
    .description('Serve the built-in Countdown policy over the OpenAI-compatible protocol (/v1/models, /v1/completions, GET /stats)')
    .option('--port <p>', 'port to listen on; 0 picks a free one', intFlag('--port'), 8000)
    .option('--host <h>', 'interface to bind', '127.0.0.1')
    .option('--latency-ms <ms>', 'emulated generation time per request', intFlag('--latency-ms'), 0)
    .option('--max-concurrency <c>', 'requests generating at once; the rest queue', intFlag('--max-concurrency'), 64)
    .option('--max-queue <n>', 'requests that may wait for a slot; beyond it a request is answered 429 with Retry-After', intFlag('--max-queue'), DEFAULT_MAX_QUEUE)
    .option('--model-name <id>', 'model id reported by /v1/models', 'countdown-mlp')
    .option('--model <file>', 'ONNX model file (default: the shipped initial Countdown network)')
    .option('--error-every <n>', 'failure mode: every Nth completions request answers HTTP 500 (0 = never)', intFlag('--error-every'), 0)
    .option('--slow-every <n>', 'failure mode: every Nth request is slowed by --slow-ms (0 = never)', intFlag('--slow-every'), 0)
    .option('--slow-ms <ms>', 'extra delay of slowed requests', intFlag('--slow-ms'), 5000)
    .option('--truncate-every <n>', 'failure mode: every Nth request sends half its body and drops the connection (0 = never)', intFlag('--truncate-every'), 0)
    .action(async (flags: ServePolicyFlags & MetricsFlags) => {
      if (flags.maxConcurrency < 1) throw new AppError('config', '--max-concurrency must be >= 1');
      if (flags.maxQueue < 0) throw new AppError('config', '--max-queue must be >= 0');
      const logger = stderrLogger('serve-policy');
      await using exporter = await metricsEndpointFromFlags(flags, 'serve-policy', logger);
      const policy = await createOnnxCountdownPolicy(flags.model === undefined ? {} : { modelPath: flags.model });
      const server = await startPolicyServer(
        {
          host: flags.host,
          port: flags.port,
          model: flags.modelName,
          latencyMs: flags.latencyMs,
          maxConcurrency: flags.maxConcurrency,
          maxQueue: flags.maxQueue,
          failures: { errorEvery: flags.errorEvery, slowEvery: flags.slowEvery, slowMs: flags.slowMs, truncateEvery: flags.truncateEvery },
        },
        { policy, clock: Date.now, logger, ...(exporter === undefined ? {} : { metrics: exporter.metrics }) },
      );
      exporter?.watchStats('serve-policy', () => flatStats(server.stats()));
      // Handlers go in before the ready line: whoever reads it may signal at once.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stdout.write(`${JSON.stringify({ baseUrl: server.baseUrl, port: server.port, model: flags.modelName, policy: policy.version })}\n`);
      logger.info(`listening on ${server.baseUrl}`, { latencyMs: flags.latencyMs, maxConcurrency: flags.maxConcurrency, maxQueue: flags.maxQueue });
      await stopped;
      await server.close();
      await policy.close?.();
      logger.info('stopped', { ...server.stats() });
    });
}
