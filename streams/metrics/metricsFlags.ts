import type { Command } from 'commander';
import { AppError } from '../../operators/common/errors.js';
import type { Logger } from '../../operators/common/metrics.js';
import { intFlag, numberFlag } from '../cli/runConfig.js';
import { startMetricsEndpoint, type MetricsEndpoint } from './metricsEndpoint.js';

/** The flags {@link addMetricsOptions} adds, as commander hands them to an action. */
export interface MetricsFlags {
  readonly metricsPort?: number;
  readonly metricsHost?: string;
  readonly metricsLinger?: number;
}

/**
 * Adds `--metrics-port`, `--metrics-host` and `--metrics-linger` to a long-running command.
 * Wiring a command is two lines: this around its `new Command(...)`, and
 * `await using endpoint = await metricsEndpointFromFlags(flags, name, logger)` in its action.
 */
export function addMetricsOptions(command: Command): Command {
  return command
    .option('--metrics-port <n>', 'serve Prometheus metrics at http://HOST:N/metrics (0 = a free port, logged)', intFlag('--metrics-port'))
    .option('--metrics-host <host>', 'interface of the metrics endpoint (default 127.0.0.1: loopback only)')
    .option('--metrics-linger <s>', 'keep serving /metrics this many seconds after the work ends, so a scraper sees the final counts (default 0; SIGTERM ends it early)', numberFlag('--metrics-linger'));
}

/**
 * Starts the metrics endpoint the flags ask for, or returns undefined without `--metrics-port`.
 * Disposing it (`await using`) waits `--metrics-linger` seconds, then closes it. A port that
 * cannot be bound is a config error (exit 2) naming the address.
 */
export async function metricsEndpointFromFlags(flags: MetricsFlags, command: string, logger: Logger): Promise<MetricsEndpoint | undefined> {
  if (flags.metricsPort === undefined) {
    if (flags.metricsHost !== undefined || flags.metricsLinger !== undefined) throw new AppError('config', '--metrics-host and --metrics-linger need --metrics-port');
    return undefined;
  }
  if (flags.metricsPort < 0 || flags.metricsPort > 65_535) throw new AppError('config', `--metrics-port must be 0-65535, got ${flags.metricsPort}`);
  if (flags.metricsLinger !== undefined && flags.metricsLinger < 0) throw new AppError('config', '--metrics-linger must be >= 0');
  const host = flags.metricsHost ?? '127.0.0.1';
  let endpoint: MetricsEndpoint;
  try {
    endpoint = await startMetricsEndpoint({ port: flags.metricsPort, host, command }, { logger });
  } catch (error) {
    throw new AppError('config', `cannot serve metrics on ${host}:${flags.metricsPort}: ${error instanceof Error ? error.message : String(error)}`);
  }
  logger.info(`metrics: ${endpoint.url}`);
  const lingerMs = (flags.metricsLinger ?? 0) * 1000;
  const dispose = async (): Promise<void> => {
    if (lingerMs > 0) await lingerUntilSignal(lingerMs);
    await endpoint.close();
  };
  return { ...endpoint, [Symbol.asyncDispose]: dispose };
}

/** Waits `ms`, or until SIGTERM/SIGINT (which then ends the linger, not the process abruptly). */
function lingerUntilSignal(ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
}
