import { defaultCacheRoot, ensureLlamaServer, ensureTinyModel, formatBuildProgress, tinyModelScript } from '../../streams/llm/index.js';

/** Generous: a machine without the cached build compiles llama-server here (`npm test`'s pretest hook normally has already). */
export const LLAMA_BUILD_TIMEOUT_MS = 90 * 60_000;

/** The cached llama-server build and the tiny model (built / made when missing, with progress on stderr). */
export async function llamaServerAndTinyModel(): Promise<{ server: string; model: string }> {
  const cacheRoot = defaultCacheRoot(process.env);
  const line = formatBuildProgress();
  const { server } = await ensureLlamaServer({ cacheRoot }, (p) => {
    const text = line(p);
    if (text !== null) process.stderr.write(`${text}\n`);
  });
  const model = await ensureTinyModel({ cacheRoot, script: tinyModelScript(), ...(process.env.PYTHON ? { python: process.env.PYTHON } : {}) });
  return { server, model };
}

/** One Prometheus counter of llama-server's `GET /metrics` (`llamacpp:<name>`). */
export async function llamaMetric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`llamacpp:${name} `));
  if (line === undefined) throw new Error(`no llamacpp:${name} in /metrics:\n${text.slice(0, 500)}`);
  return Number(line.split(' ')[1]);
}
