import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Gauge } from 'prom-client';
import type { Logger, Metrics } from '../../operators/common/metrics.js';
import { METRIC_PREFIX } from './families.js';
import { registerPipelineCollectors, type StatsSource, type WatchedPipeline } from './pipelineCollectors.js';
import { PromMetrics } from './promMetrics.js';

/** What a pipeline reports to: the Metrics its stages count through, and the stages to watch. */
export interface PipelineExporter {
  /** Pass as `new InMemoryMetrics(exporter.metrics)`: every count of the run also lands here. */
  readonly metrics: Metrics;
  /** Reports these stages' in-flight records, paused flag, consumer lag and sink bytes at each scrape. */
  watch(pipeline: WatchedPipeline): void;
  /** Reports a component's numeric fields as `astro_component_stat{component, field}` at each scrape. */
  watchStats(component: string, read: StatsSource): void;
  /**
   * Reads every level now. Call it before closing the transport: offsets read later fail, and
   * the last values read (the final, drained ones after this) are what later scrapes report.
   */
  refresh(): Promise<void>;
}

/** A running `/metrics` endpoint (Prometheus text format). */
export interface MetricsEndpoint extends PipelineExporter, AsyncDisposable {
  readonly metrics: PromMetrics;
  /** `http://host:port/metrics`. */
  readonly url: string;
  readonly port: number;
  /** The exposition text, as a scrape would get it. */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

export interface MetricsEndpointConfig {
  /** 0 picks a free port (the log line and `url` say which). */
  readonly port: number;
  /** Interface to bind; loopback unless asked (the endpoint has no authentication). */
  readonly host: string;
  /** Process name, exported as `astro_process_info{command}`. */
  readonly command: string;
}

/**
 * Serves `GET /metrics` for this process: the pipeline's counts (everything counted through the
 * returned `metrics`), levels read at scrape time from watched stages (in flight, paused, consumer
 * lag per group and partition, sink bytes), the derived valid-tree ratio, and Node's process
 * metrics (CPU, memory, event-loop delay), all prefixed `astro_`.
 */
export async function startMetricsEndpoint(config: MetricsEndpointConfig, deps: { readonly logger: Logger }): Promise<MetricsEndpoint> {
  const metrics = new PromMetrics({ onDrop: (name, reason) => deps.logger.warn(`metrics: ${name} not exported`, { reason }) });
  const registry = metrics.registry;
  const pipelines: WatchedPipeline[] = [];
  const levels: { prefix: string; read: StatsSource }[] = [];
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  // Collect errors are logged at most once a minute: a scrape every few seconds of a broker that is down would flood.
  let lastErrorLog = -Infinity;
  registerPipelineCollectors(registry, () => pipelines, () => levels, {
    onError: (what, error) => {
      if (performance.now() - lastErrorLog < 60_000) return;
      lastErrorLog = performance.now();
      deps.logger.warn(`metrics: ${what} unavailable`, { reason: error instanceof Error ? error.message : String(error) });
    },
  });
  new Gauge({ name: `${METRIC_PREFIX}process_info`, help: 'Always 1; labels say which command this process runs.', labelNames: ['command'], registers: [registry] }).set({ command: config.command }, 1);
  new Gauge({
    name: `${METRIC_PREFIX}valid_tree_ratio`,
    help: 'Verified trees with at least one correct terminal / verified trees, since start.',
    registers: [registry],
    async collect() {
      const total = await counterValue(metrics, `${METRIC_PREFIX}verify_trees_total`);
      const invalid = await counterValue(metrics, `${METRIC_PREFIX}verify_invalid_trees_total`);
      this.set(total > 0 ? (total - invalid) / total : 0);
    },
  });

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`astro-stream ${config.command}: metrics at /metrics\n`);
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  // A scraper must never keep a finished process alive.
  server.unref();
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/metrics`;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return {
    metrics,
    url,
    port,
    watch: (pipeline) => void pipelines.push(pipeline),
    watchStats: (component, read) => void levels.push({ prefix: component, read }),
    scrape: () => registry.metrics(),
    refresh: async () => {
      await registry.metrics();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function counterValue(metrics: PromMetrics, name: string): Promise<number> {
  const family = metrics.family(name);
  if (family === undefined) return 0;
  const data = await family.get();
  return data.values.reduce((sum, v) => sum + v.value, 0);
}
