import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STEP_DELIMITER } from '../../../operators/mcts/policy.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defaultCacheRoot, formatBuildProgress, slotsFor, tinyModelCorpus, withDirLock } from '../../../streams/llm/index.js';
import { reapOrphanServers } from '../../../streams/llm/llmSetup.js';

const root = mkdtempSync(join(tmpdir(), 'astro-llm-setup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('llm setup', () => {
  it('caches under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultCacheRoot({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/astro-stream');
    expect(defaultCacheRoot({ XDG_CACHE_HOME: '', HOME: '/h' })).toBe('/h/.cache/astro-stream');
  });

  it('removes the served-server state of runs that died, and leaves the ones still running', async () => {
    const served = join(root, 'served');
    // A pid that existed and is gone; its recorded server pid is not a llama-server either, so nothing is signalled.
    const dead = spawnSync('true').pid ?? 0;
    mkdirSync(join(served, String(dead), 'astro-lm@v0.abc'), { recursive: true });
    writeFileSync(join(served, String(dead), 'astro-lm@v0.abc', 'server.json'), JSON.stringify({ pid: process.pid, port: 1 }));
    mkdirSync(join(served, '1', 'astro-lm@v0.abc'), { recursive: true });
    expect(await reapOrphanServers(served)).toBe(0);
    expect(existsSync(join(served, String(dead)))).toBe(false);
    expect(existsSync(join(served, '1', 'astro-lm@v0.abc'))).toBe(true);
    expect(await reapOrphanServers(join(root, 'none'))).toBe(0);
  });

  it('gives the server a slot per sample of the largest n', () => {
    expect(slotsFor({ k: 8, rollouts: 16 })).toBe(16);
    expect(slotsFor({ k: 8, rollouts: 4 }, 10)).toBe(10);
  });

  it('prints compile progress once per percent, other phases always', () => {
    const line = formatBuildProgress();
    expect(line({ phase: 'compile', done: 1, total: 1000, message: 'Building CXX object ggml/a.o' })).toBe('[llm] building llama-server 1/1000 (0%) ggml/a.o');
    expect(line({ phase: 'compile', done: 2, total: 1000, message: 'b' })).toBeNull();
    expect(line({ phase: 'compile', done: 20, total: 1000, message: 'c' })).toMatch(/\(2%\)/);
    expect(line({ phase: 'wait', message: 'held' })).toBe('[llm] wait: held');
  });

  it('the tiny model corpus is the policy\'s own prompt format, dialogues and their answers, ending the turn after the answer', () => {
    const texts = tinyModelCorpus(3).trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text);
    const dialogues = texts.filter((t) => t.startsWith('<|begin_of_text|><|start_header_id|>user<|end_header_id|>'));
    expect(dialogues).toHaveLength(12);
    expect(texts).toHaveLength(12 * 5);
    for (const text of texts) {
      const assistant = text.includes('<|start_header_id|>assistant') ? (text.split('<|start_header_id|>assistant<|end_header_id|>\n\n')[1] ?? '') : text;
      const steps = assistant.replace(/<\|eot_id\|>$/, '').split(STEP_DELIMITER);
      expect(steps.every((s) => /^Step \d+: /.test(s))).toBe(true);
      expect(steps.at(-1)).toMatch(/\\boxed\{.+\}\.$/);
      expect(text.endsWith('<|eot_id|>')).toBe(true);
    }
  });
});

describe('withDirLock', () => {
  it('runs holders one at a time', async () => {
    const lock = join(root, 'serial.lock');
    let inside = 0;
    let most = 0;
    const holder = () =>
      withDirLock(lock, { pollMs: 5 }, async () => {
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inside -= 1;
      });
    await Promise.all([holder(), holder(), holder()]);
    expect(most).toBe(1);
  });

  it('takes over a lock whose owner process is gone, and tells a waiter who holds a live one', async () => {
    const stale = join(root, 'stale.lock');
    mkdirSync(stale);
    writeFileSync(join(stale, 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: 'earlier' }));
    expect(await withDirLock(stale, { pollMs: 5 }, async () => 'ran')).toBe('ran');

    const live = join(root, 'live.lock');
    mkdirSync(live);
    writeFileSync(join(live, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname(), since: 'now' }));
    const told: string[] = [];
    const waiting = withDirLock(live, { pollMs: 5, onWait: (owner) => told.push(owner) }, async () => 'after');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(told).toEqual([`pid ${process.pid} on ${hostname()} since now`]);
    rmSync(live, { recursive: true });
    expect(await waiting).toBe('after');
  });
});
