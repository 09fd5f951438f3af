import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** How {@link withDirLock} waits. */
export interface DirLockOptions {
  /** Poll interval while another process holds the lock (ms). Default 2 000. */
  readonly pollMs?: number;
  /** Called once when the lock is found held, with who holds it. */
  readonly onWait?: (owner: string) => void;
}

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/**
 * Runs `fn` holding a lock directory (`mkdir` is atomic, also across processes and on NFS): the
 * first caller creates it and writes its pid; the others poll until it is gone. A lock whose
 * owner process no longer exists on this host (killed build, crashed test) is removed and taken.
 */
export async function withDirLock<T>(lockDir: string, options: DirLockOptions, fn: () => Promise<T>): Promise<T> {
  const pollMs = options.pollMs ?? 2_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(lockDir);
    const ownerless = owner === null && ageMs(lockDir) > 60_000;
    if (ownerless || (owner !== null && owner.host === hostname() && !alive(owner.pid))) {
      // Its owner is gone; removing and re-creating races only with other takers, and mkdir picks one.
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!told) {
      told = true;
      options.onWait?.(owner === null ? 'owner starting' : `pid ${owner.pid} on ${owner.host} since ${owner.since}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  writeFileSync(join(lockDir, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Owner));
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function readOwner(lockDir: string): Owner | null {
  try {
    const owner = JSON.parse(readFileSync(join(lockDir, 'owner.json'), 'utf8')) as Owner;
    return typeof owner.pid === 'number' ? owner : null;
  } catch {
    return null;
  }
}

/** Age of the lock directory (ms); a lock without an owner file this old was left by a process killed right after taking it. */
function ageMs(lockDir: string): number {
  try {
    return Date.now() - statSync(lockDir).mtimeMs;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
