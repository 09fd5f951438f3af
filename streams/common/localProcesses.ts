import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Helpers for the local servers the project starts itself (Kafka brokers, llama-server): both
 * keep a pid file and must tell a live server from a stale pid, stop it (TERM, then KILL), and both
 * need free loopback ports.
 */

/** Alive and not a zombie (a zombie still answers kill(pid, 0)). */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * `count` distinct free loopback ports: listens on port 0 that many times at once (so the OS
 * cannot hand the same port out twice), reads the ports, closes. Another process may still take
 * one before the caller binds it; callers that start servers on them retry or fail clearly.
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<Server>((ok, fail) => {
      const server = createServer();
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => ok(server));
    })),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise<void>((ok) => server.close(() => ok()))));
  return ports;
}

/**
 * Sends `signal` and waits until the process is gone; a SIGTERM it outlives for `graceMs` becomes
 * a SIGKILL (waited for 10 s more). A pid that is already gone returns at once.
 */
export async function killAndWait(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = performance.now() + (signal === 'SIGKILL' ? 10_000 : graceMs);
  while (isAlive(pid) && performance.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
  if (isAlive(pid) && signal !== 'SIGKILL') await killAndWait(pid, 'SIGKILL', graceMs);
}
