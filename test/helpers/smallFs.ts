import { spawn } from 'node:child_process';
import { CLI, REPO_ROOT } from './cli.js';

/** What a script run in a private mount namespace printed, and its exit code. */
export interface NamespaceResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a POSIX shell script in a private mount namespace (`unshare --user --map-root-user
 * --mount`: no privileges needed where user namespaces are allowed, and nothing leaks into the
 * host's mount table), so a test can mount a real small or read-only file system (tmpfs) and fill
 * it. The script sees `$MNT` (an empty directory to mount on), `$OUT` (a host directory that
 * outlives the namespace: copy what the test inspects there) and a shell function `astro` (the
 * astro-stream CLI). `sh -eu`: a failing command ends the script, unless it is tested (`|| ...`).
 */
export function inMountNamespace(script: string, env: { readonly MNT: string; readonly OUT: string }, timeoutMs = 300_000): Promise<NamespaceResult> {
  return new Promise((resolve, reject) => {
    const prelude = 'astro() { "$ASTRO_NODE" "$ASTRO_CLI" "$@"; }\n';
    const child = spawn('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-eu', '-c', prelude + script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, ASTRO_NODE: process.execPath, ASTRO_CLI: CLI },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
