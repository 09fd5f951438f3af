import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { localKafkaStatus, startLocalKafka, stopLocalKafka } from '../../transport/kafka/localCluster.js';

const DEFAULT_DIR = '.kafka/run';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port > 65_000) throw new InvalidArgumentError('expected a port in 1024..65000');
  return port;
}

/**
 * `astro-stream kafka up|down`: a local Apache Kafka (KRaft) from the Maven Central jars, for
 * users, tests and CI. `up` leaves the JVMs running in the background and prints the bootstrap
 * address on stdout (the only line it prints there, so scripts can capture it).
 */
export function createKafkaCommand(): Command {
  const kafka = new Command('kafka').description('run a local Kafka broker or 3-node cluster (jars from Maven Central, JDK 17)');

  kafka
    .command('up')
    .description('fetch the jars if missing, format, start, wait until ready, print the bootstrap address (reuses a cluster already running in --dir)')
    .addOption(new Option('--nodes <n>', 'number of nodes').choices(['1', '3']).default('1'))
    .option('--port <port>', 'first port (node i uses port+2(i-1) and the next one); default: free ports', parsePort)
    .option('--dir <dir>', 'directory for configs, data, logs and pid files', DEFAULT_DIR)
    .option('--heap-mb <mb>', 'JVM heap per node in MiB', (v) => Number(v), 512)
    .option('--fresh', 'wipe data left by a previous run in --dir', false)
    .action(async (opts: { nodes: string; port?: number; dir: string; heapMb: number; fresh: boolean }) => {
      const nodes = opts.nodes === '3' ? 3 : 1;
      const current = localKafkaStatus(resolve(opts.dir));
      const samePlan = current !== null && current.nodes.length === nodes && (opts.port === undefined || current.nodes[0]?.port === opts.port);
      if (current?.running === true && samePlan && !opts.fresh) {
        // Idempotent: a second `up` (CI retry, another terminal) reuses the running cluster.
        process.stderr.write(`kafka up: already running in ${resolve(opts.dir)}\n`);
        process.stdout.write(`${current.bootstrap}\n`);
        return;
      }
      const cluster = await startLocalKafka({
        nodes,
        basePort: opts.port,
        dir: resolve(opts.dir),
        heapMb: opts.heapMb,
        fresh: opts.fresh,
        detached: true,
      });
      process.stderr.write(
        `kafka up: ${cluster.nodes.length} node(s) in ${cluster.dir} (format ${Math.round(cluster.timings.formatMs)} ms, start ${Math.round(cluster.timings.startMs)} ms)\n`,
      );
      process.stdout.write(`${cluster.bootstrap}\n`);
    });

  kafka
    .command('down')
    .description('stop the nodes started in --dir (SIGTERM, SIGKILL after 30 s)')
    .option('--dir <dir>', 'directory given to `kafka up`', DEFAULT_DIR)
    .action(async (opts: { dir: string }) => {
      await stopLocalKafka(resolve(opts.dir));
      process.stderr.write(`kafka down: ${resolve(opts.dir)}\n`);
    });

  return kafka;
}
