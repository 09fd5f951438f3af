import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DashboardStore } from './dashboardStore.js';
import type { MetricsHistory } from './metricsHistory.js';

/** Where `npm run build` puts the bundled page (next to this module in dist/). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('./public/', import.meta.url));

export interface DashboardServerConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly assetsDir?: string;
  /** What the page says it shows: a directory, brokers, endpoints. */
  readonly source: Readonly<Record<string, unknown>>;
}

export interface DashboardServerDeps {
  readonly store: DashboardStore;
  readonly history: MetricsHistory;
  readonly clock: () => number;
}

export interface RunningDashboard {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };
/** Trees listed per request: the picker filters by id, it never needs them all. */
const LIST_LIMIT = 500;

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/**
 * The dashboard's HTTP server: the page and its bundled assets (no CDN), and a JSON API the page
 * polls: `/api/overview` (counts, timelines, per-version rates, backtracks, dead letters, the
 * metrics history), `/api/trees?q=` (the tree picker) and `/api/tree?id=` (one search tree with
 * its traces, for the viewer).
 */
export async function startDashboardServer(config: DashboardServerConfig, deps: DashboardServerDeps): Promise<RunningDashboard> {
  const assetsDir = config.assetsDir ?? DEFAULT_ASSETS_DIR;

  const asset = async (name: string, res: ServerResponse): Promise<void> => {
    // Only plain file names of the assets folder: no path can leave it.
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) {
      json(res, 404, { error: `no asset ${name}` });
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(join(assetsDir, name));
    } catch {
      json(res, name === 'index.html' ? 500 : 404, { error: name === 'index.html' ? `dashboard page not built in ${assetsDir}: run npm run build` : `no asset ${name}` });
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'content-length': body.byteLength });
    res.end(body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') {
      json(res, 405, { error: 'GET only' });
      return;
    }
    switch (url.pathname) {
      case '/':
        return asset('index.html', res);
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      case '/api/overview':
        return json(res, 200, {
          ...deps.store.overview(),
          now: deps.clock(),
          source: config.source,
          metrics: { points: deps.history.points(), errors: deps.history.errors() },
        });
      case '/api/trees':
        return json(res, 200, { trees: deps.store.findTrees(url.searchParams.get('q') ?? '', Number(url.searchParams.get('limit') ?? LIST_LIMIT) || LIST_LIMIT) });
      case '/api/tree': {
        const id = url.searchParams.get('id') ?? '';
        const tree = deps.store.tree(id);
        if (tree === undefined) {
          const known = deps.store.summary(id) !== undefined;
          return json(res, 404, { error: known ? `tree ${id} is no longer kept in memory (raise --max-trees)` : `no tree ${id}` });
        }
        return json(res, 200, { tree, summary: deps.store.summary(id), traces: deps.store.tracesOf(id) });
      }
      default:
        return asset(url.pathname.slice(1), res);
    }
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
