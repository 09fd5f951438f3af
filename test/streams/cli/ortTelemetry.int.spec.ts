import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli } from '../../helpers/cli.js';

// onnxruntime stays quiet by itself when it sees one of these (CI runners: the project's CI sets
// `CI=true`, which made the opted-in run below write nothing there); a user's machine has none, so
// the runs below go without them to see what users get. The names are the ones onnxruntime 1.30's
// library checks (`strings libonnxruntime.so.1`).
const CI_VARIABLES = ['CI', 'SYSTEM_TEAMFOUNDATIONCOLLECTIONURI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER', 'ORT_RUNNING_UNIT_TESTS'];

/** The environment of a user's shell, with onnxruntime's cache in `cache` and any upload sent to a closed local port. */
const userEnv = (cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache, https_proxy: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', ...extra };
  for (const name of CI_VARIABLES) delete env[name];
  if (extra['ORT_DISABLE_TELEMETRY'] === undefined) delete env['ORT_DISABLE_TELEMETRY'];
  return env;
};

/** The files onnxruntime's telemetry leaves behind for process `pid` with cache root `cache`. */
const telemetryFiles = (cache: string, pid: number): string[] =>
  [...new Set([join(cache, 'Microsoft', 'DeveloperTools', '.onnxruntime', 'deviceid'), join(cache, 'Microsoft', 'DeveloperTools', '.onnxruntime', 'onnxruntime.db'), `/tmp/mat-debug-${pid}.log`, join(tmpdir(), `mat-debug-${pid}.log`)])].filter((f) => existsSync(f));

describe('onnxruntime telemetry (the built-in ONNX policy)', () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('`run` creates no device id, event cache or /tmp/mat-debug file; a user who sets ORT_DISABLE_TELEMETRY=0 gets onnxruntime\'s default (all three)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'astro-ort-telemetry-'));
    const runWith = async (name: string, extra: NodeJS.ProcessEnv): Promise<string[]> => {
      const cache = join(dir, `cache-${name}`);
      const run = startCli(['run', '--problems', '2', '--seed', '3', '--out', join(dir, `out-${name}`)], { env: userEnv(cache, extra) });
      const exit = await run.exited;
      expect(exit.code, run.output()).toBe(0);
      const files = telemetryFiles(cache, run.pid);
      for (const f of files) if (f.includes('mat-debug')) rmSync(f, { force: true });
      return files.map((f) => f.replace(cache, '<cache>').replace(String(run.pid), '<pid>'));
    };
    expect(await runWith('default', {})).toEqual([]);
    // onnxruntime's own default, which the product overrides: also shows the check above can fail.
    expect(await runWith('opted-in', { ORT_DISABLE_TELEMETRY: '0' })).toEqual(expect.arrayContaining(['<cache>/Microsoft/DeveloperTools/.onnxruntime/deviceid', '<cache>/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db', '/tmp/mat-debug-<pid>.log']));
  }, 300_000);
});
