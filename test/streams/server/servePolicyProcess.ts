import { spawn } from 'node:child_process';
import { CLI, REPO_ROOT } from '../../helpers/cli.js';

/** A running `astro-stream serve-policy` child process. */
export interface ServePolicyProcess {
  readonly baseUrl: string;
  readonly port: number;
  /** GET /stats. */
  stats(): Promise<Record<string, unknown> & { injected: { errors: number; slow: number; truncated: number } }>;
  /** SIGTERM, then the exit code once it is gone. */
  stop(): Promise<number | null>;
  stderr(): string;
}

/** Spawns `astro-stream serve-policy --port 0 ARGS` and waits for its `{"baseUrl": ...}` line. */
export function startServePolicy(args: readonly string[] = [], timeoutMs = 30_000): Promise<ServePolicyProcess> {
  const child = spawn(process.execPath, [CLI, 'serve-policy', '--port', '0', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve-policy did not start in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    void exited.then((code) => reject(new Error(`serve-policy exited early (${code}): ${stderr}`)));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (!stdout.includes('\n') || line === undefined) return;
      clearTimeout(timer);
      const { baseUrl, port } = JSON.parse(line) as { baseUrl: string; port: number };
      resolve({
        baseUrl,
        port,
        stats: async () => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Record<string, unknown> & { injected: { errors: number; slow: number; truncated: number } },
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
        stderr: () => stderr,
      });
    });
  });
}
