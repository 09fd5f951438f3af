import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../operators/common/errors.js';
import { noopMetrics, type Logger, type Metrics } from '../../operators/common/metrics.js';
import { withOverrides } from '../metrics/delegate.js';
import { createCompletionsClient, type CompletionsClient } from '../policies/openai/completionsClient.js';
import { createOpenAiPolicy, type OpenAiPolicy, type OpenAiPolicyConfig, type OpenAiPolicyDeps } from '../policies/openai/openaiPolicy.js';
import { startLlamaServer, type RunningLlamaServer } from './llamaServer.js';

/** A GGUF file and the policy version it is (recorded in every tree it produces). */
export interface GgufVersion {
  /** `name@v<N>.<sha12>` (see `formatPolicyVersion`): the server's model id, and what trees record. */
  readonly label: string;
  readonly path: string;
}

/** How the managed servers run and how the policy talks to them. */
export interface ServedGgufPolicyConfig {
  /** The `llama-server` binary. */
  readonly server: string;
  /** The model served first. */
  readonly initial: GgufVersion;
  /** State and logs of the servers: one subdirectory per version. */
  readonly dir: string;
  readonly slots: number;
  readonly ctxPerSlot: number;
  readonly threads?: number;
  /** After a switch, how long requests still running on the old server may finish before it is stopped (ms); later ones are retried on the new one. */
  readonly drainMs: number;
  /** How long a new version may take to load (ms). Default 120 000. */
  readonly readyTimeoutMs?: number;
  /** The openai policy's settings (the base URL and model id come from the servers). */
  readonly openai: Omit<OpenAiPolicyConfig, 'baseUrl' | 'model' | 'version' | 'recordAnsweringModel'>;
}

/** What the managed policy needs from outside: the openai policy's deps (without a client: it routes its own). */
export interface ServedGgufPolicyDeps extends Omit<OpenAiPolicyDeps, 'client'> {
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

/** The openai policy over a `llama-server` this process runs, which can be switched to another GGUF while searches go on. */
export interface ServedGgufPolicy extends OpenAiPolicy {
  /** The version now serving (new problems' requests go to it). */
  readonly version: string;
  /**
   * Loads `next` on a new server and, once it answers, sends every new request there; the old
   * server gets `drainMs` to finish what it is answering, then stops (requests it drops are
   * retried on the new one). Rejects with a `config` AppError saying why when `next` cannot be
   * served (not a GGUF, llama-server refused it): the old model keeps serving.
   */
  switchTo(next: GgufVersion): Promise<void>;
  /** Every version that has served, oldest first. */
  versionsServed(): readonly string[];
  /** The base URL of the server now serving (for logs and tests). */
  baseUrl(): string;
}

interface Backend {
  readonly label: string;
  readonly server: RunningLlamaServer;
  readonly client: CompletionsClient;
  inFlight: number;
  idle: (() => void) | undefined;
}

const GGUF_MAGIC = 'GGUF';

/**
 * The `openai` policy served by a `llama-server` this process starts on a GGUF file, and can
 * switch to newer versions (blue/green): the new model is loaded on a second server while the
 * first keeps answering, requests are routed to the new one as soon as it is healthy, and the
 * old one is stopped once its requests are answered (or after `drainMs`; a request it drops is
 * retried on the new server like any outage, so no problem is lost). Each server answers under
 * its version's label, and the policy records per problem which labels answered, so a tree
 * searched across a switch names both versions (`a@v0.…+a@v1.…`).
 */
export async function startServedGgufPolicy(config: ServedGgufPolicyConfig, deps: ServedGgufPolicyDeps): Promise<ServedGgufPolicy> {
  const metrics = deps.metrics ?? noopMetrics;
  const retiring = new Set<Promise<void>>();
  const served: string[] = [];

  const launch = async (version: GgufVersion): Promise<Backend> => {
    await assertGguf(version.path);
    let server: RunningLlamaServer;
    try {
      server = await startLlamaServer({
        server: config.server,
        model: version.path,
        dir: join(config.dir, version.label.replace(/[^\w.@-]/g, '_')),
        slots: config.slots,
        ctxPerSlot: config.ctxPerSlot,
        alias: version.label,
        readyTimeoutMs: config.readyTimeoutMs ?? 120_000,
        ...(config.threads === undefined ? {} : { threads: config.threads }),
      });
    } catch (error) {
      throw new AppError('config', `llama-server cannot serve ${version.path}: ${loadFailureReason(error)}`, { cause: error });
    }
    served.push(version.label);
    return { label: version.label, server, client: createCompletionsClient({ baseUrl: server.baseUrl, timeoutMs: config.openai.timeoutMs, maxSockets: config.openai.maxInFlight }), inFlight: 0, idle: undefined };
  };

  let current = await launch(config.initial);
  deps.logger.info(`served policy: ${current.label} on ${current.server.baseUrl} (${config.initial.path})`);

  // Routes each attempt to the server serving when it starts; the policy's retries re-route.
  const router: CompletionsClient = {
    complete: async (body) => {
      const backend = current;
      backend.inFlight += 1;
      try {
        return await backend.client.complete({ ...body, model: backend.label });
      } finally {
        backend.inFlight -= 1;
        if (backend.inFlight === 0) backend.idle?.();
      }
    },
    getJson: (path) => current.client.getJson?.(path) ?? Promise.resolve(undefined),
    close: () => undefined,
  };

  const retire = async (old: Backend): Promise<void> => {
    if (old.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.drainMs);
        old.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const dropped = old.inFlight;
    old.client.close();
    await old.server.stop();
    deps.logger.info(`served policy: stopped ${old.label}${dropped > 0 ? ` with ${dropped} request(s) unanswered after ${config.drainMs} ms; they are retried on ${current.label}` : ''}`);
  };

  // One switch at a time, in the order asked.
  let switching: Promise<void> = Promise.resolve();
  const switchTo = (next: GgufVersion): Promise<void> => {
    const run = switching.then(async () => {
      const started = performance.now();
      const backend = await launch(next);
      const old = current;
      current = backend;
      metrics.increment('served_policy.switches');
      deps.logger.info(`served policy: now serving ${next.label} on ${backend.server.baseUrl} (loaded in ${Math.round(performance.now() - started)} ms; ${old.inFlight} request(s) still on ${old.label})`);
      const retired = retire(old).catch((error: unknown) => deps.logger.warn(`served policy: stopping ${old.label} failed`, { error: String(error) }));
      retiring.add(retired);
      void retired.finally(() => retiring.delete(retired));
    });
    switching = run.catch(() => undefined);
    return run;
  };

  const inner = createOpenAiPolicy(
    { ...config.openai, baseUrl: current.server.baseUrl, model: current.label, recordAnsweringModel: true },
    { ...deps, client: router },
  );
  const overrides = {
    get version(): string {
      return current.label;
    },
    switchTo,
    versionsServed: (): readonly string[] => [...served],
    baseUrl: (): string => current.server.baseUrl,
    close: async (): Promise<void> => {
      await switching;
      await inner.close?.();
      await Promise.all(retiring);
      current.client.close();
      await current.server.stop();
    },
  };
  return withOverrides(inner as ServedGgufPolicy, overrides as Partial<ServedGgufPolicy>);
}

/** Fails with a `config` AppError unless `path` is a readable file that starts with the GGUF magic. */
export async function assertGguf(path: string): Promise<void> {
  let head: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      head = Buffer.alloc(4);
      await file.read(head, 0, 4, 0);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new AppError('config', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (head.toString('latin1') !== GGUF_MAGIC) throw new AppError('config', `${path} is not a GGUF file (it starts with ${JSON.stringify(head.toString('latin1'))}, not "GGUF")`);
}

/** Hex sha256 of a file, streamed (GGUFs can be gigabytes). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', (error) => reject(new AppError('config', `cannot read ${path}: ${error.message}`)))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Why a start failed, from llama.cpp's log: its first and last error lines (timestamps cut), else the message's last line. */
function loadFailureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split('\n').map((l) => l.replace(/^[\d.]+\s+[EWI]\s+/, '').trim()).filter((l) => l.length > 0);
  const why = [...new Set(lines.filter((l) => /error|failed|invalid|unable|cannot/i.test(l)))];
  if (why.length === 0) return lines.at(-1) ?? message;
  return (why.length > 2 ? [why[0], why.at(-1)] : why).join(' | ');
}
