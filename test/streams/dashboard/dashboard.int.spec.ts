import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../../schemas/deadLetter.js';
import { readTreeArchive } from '../../../streams/sinks/treeArchiveSink.js';
import { startTestBrowser, type TestBrowser } from '../../helpers/browser.js';
import { REPO_ROOT, startCli, type CliProcess } from '../../helpers/cli.js';
import { duckdbRows } from '../../helpers/duckdb.js';
import { waitFor } from '../../helpers/waitFor.js';

/** Screenshots land here (gitignored): CI keeps them as artefacts. */
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'dashboard');
const PROBLEMS = 8;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

// Page-side code is passed as source text: the test project has no DOM types.
const tile = (page: Page, label: string): Promise<string> =>
  page.evaluate(`[...document.querySelectorAll('.tile')].find((t) => t.querySelector('span')?.textContent?.startsWith(${JSON.stringify(label)}))?.querySelector('b')?.textContent ?? ''`);

/** Non-transparent pixels of the chart's canvas, and how many x values it plots. */
const chartState = (page: Page, id: string): Promise<{ points: number; series: number; inked: number }> =>
  page.evaluate(`(() => {
    const el = document.getElementById(${JSON.stringify(id)});
    const canvas = el.querySelector('canvas');
    let inked = 0;
    if (canvas !== null) {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
    }
    return { points: Number(el.dataset.points ?? 0), series: Number(el.dataset.series ?? 0), inked };
  })()`);

describe('astro-stream dashboard in headless Chromium, following a run while it writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'astro-dashboard-'));
  const processes: CliProcess[] = [];
  let browser: TestBrowser;
  let page: Page;
  const pageErrors: string[] = [];
  let treesSeen: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const metricsPort = await freePort();
    const dashboard = startCli(['dashboard', '--out', dir, '--metrics', `127.0.0.1:${metricsPort}`, '--port', '0', '--poll-ms', '250']);
    processes.push(dashboard);
    const url = await waitFor(() => /"url":"([^"]+)"/.exec(dashboard.output())?.[1], { timeoutMs: 60_000, message: 'dashboard URL' });
    browser = await startTestBrowser({ width: 1400, height: 1000 });
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    // The directory is empty: the page is live before any data exists.
    await waitFor(async () => (await tile(page, 'trees')) === '0', { timeoutMs: 30_000, message: 'page showing 0 trees' });
    const run = startCli(['run', '--problems', String(PROBLEMS), '--numbers', '3', '--iterations', '8', '--seed', '3', '--out', dir, '--metrics-port', String(metricsPort), '--metrics-linger', '120']);
    processes.push(run);
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const trees = await tile(page, 'trees');
        seen.add(trees);
        return trees === String(PROBLEMS) && run.output().includes('dataset ');
      },
      { timeoutMs: 240_000, intervalMs: 100, message: `page showing ${PROBLEMS} trees` },
    );
    treesSeen = [...seen];
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(processes.map((p) => p.stop('SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('updates live: the tree count climbed from 0 while the run wrote', () => {
    expect(treesSeen[0]).toBe('0');
    expect(treesSeen).toContain(String(PROBLEMS));
  });

  it('plots render: throughput (from the run\'s metrics endpoint), lag, rates, per version, backtracks', async () => {
    await waitFor(async () => ((await page.locator('#panel-throughput .note').textContent()) ?? '').includes('metrics endpoint'), { timeoutMs: 60_000, message: 'per-stage throughput from metrics' });
    for (const id of ['chart-throughput', 'chart-lag', 'chart-rates', 'chart-policy', 'chart-backtracks', 'chart-learning']) {
      const state = await waitFor(async () => {
        const s = await chartState(page, id);
        return s.points > 0 && s.series > 0 && s.inked > 500 ? s : undefined;
      }, { timeoutMs: 30_000, message: `${id} drawn` });
      expect(state.inked, id).toBeGreaterThan(500);
    }
    // The run has finished, so the files are final; the page shows them at its next poll (it may
    // still show the poll before the last shard: beside a CPU hog it showed 24 of 28 traces).
    const [bt] = await duckdbRows(`SELECT max(num_backtracks) AS m FROM read_parquet('${dir}/traces/*.parquet')`);
    const histogramPoints = Number(bt?.['m']) + 1;
    const [counts] = await duckdbRows(`SELECT count(*) AS n FROM read_parquet('${dir}/traces/*.parquet')`);
    const traces = String(Number(counts?.['n']));
    const shown = await waitFor(
      async () => {
        const now = { histogramPoints: (await chartState(page, 'chart-backtracks')).points, traces: await tile(page, 'traces') };
        return now.histogramPoints === histogramPoints && now.traces === traces ? now : undefined;
      },
      { timeoutMs: 30_000, message: `page showing the files' ${traces} traces and ${histogramPoints} backtrack counts` },
    );
    expect(shown).toEqual({ histogramPoints, traces });
    await page.screenshot({ path: join(ARTIFACTS, 'overview.png'), fullPage: true });
  });

  it('shows dead letters with their reasons, and says which lines it could not read', async () => {
    const letter: DeadLetter = { source_topic: 'astro.problems.v1', source_partition: 2, source_offset: 41, key: 'p-bad', value_base64: Buffer.from('{oops').toString('base64'), stage: 'search', error_kind: 'decode', retriable: false, reason: 'problem: value is not JSON', failed_at: Date.now() };
    writeFileSync(join(dir, 'dead_letters.jsonl'), `${JSON.stringify(letter)}\nnot json\n`);
    await waitFor(async () => (await page.locator('#dlq-total').textContent()) === '1 total', { timeoutMs: 30_000, message: 'one dead letter shown' });
    expect(await page.locator('#dlq-table tbody').textContent()).toContain('problem: value is not JSON');
    expect(await page.locator('#dlq-kinds').textContent()).toContain('search · decode: 1');
    await waitFor(async () => /dead_letters\.jsonl line 2/.test((await page.locator('#notices').textContent()) ?? ''), { timeoutMs: 30_000, message: 'the unreadable line reported' });
  });

  it('the tree viewer draws a chosen tree with its node count and highlights a trace\'s path', async () => {
    const trees = new Map<string, number>();
    for await (const t of readTreeArchive(dir)) trees.set(t.tree_id, t.nodes.length);
    const [withTraces] = await duckdbRows(`SELECT tree_id, node_path FROM read_parquet('${dir}/traces/*.parquet') WHERE variant = 'search' ORDER BY trace_id LIMIT 1`);
    const treeId = String(withTraces?.['tree_id']);
    const expectedNodes = trees.get(treeId);
    expect(expectedNodes).toBeGreaterThan(1);
    await page.selectOption('#tree-select', treeId);
    await waitFor(async () => (await page.locator('#tree-node-count').getAttribute('data-nodes')) === String(expectedNodes), { timeoutMs: 30_000, message: 'node count of the chosen tree' });
    expect(await page.locator('#tree-node-count').textContent()).toMatch(new RegExp(`^${expectedNodes} nodes`));
    expect(await page.locator('#tree-svg g.node').count()).toBe(expectedNodes);

    const traceIds = (await duckdbRows(`SELECT trace_id FROM read_parquet('${dir}/traces/*.parquet') WHERE tree_id = '${treeId}' ORDER BY trace_id`)).map((r) => String(r['trace_id']));
    expect(await page.locator('#trace-list li').count()).toBe(traceIds.length);
    const first = (await duckdbRows(`SELECT trace_id, node_path, completion FROM read_parquet('${dir}/traces/*.parquet') WHERE trace_id = '${traceIds[0]}'`))[0];
    await page.locator('#trace-list li').first().click();
    const overlay = page.locator(`#tree-svg g[data-trace="${traceIds[0]}"]`);
    expect(await overlay.getAttribute('opacity')).toBe('1');
    // One highlighted edge per distinct non-root node the trace walks through.
    const path = first?.['node_path'] as number[];
    expect(await overlay.locator('path').count()).toBe(new Set(path.filter((n) => n !== 0)).size);
    expect(await page.locator('#trace-text').textContent()).toBe(String(first?.['completion']));

    await page.locator('#tree-svg g.node circle').nth(1).click();
    expect(await page.locator('#node-info').textContent()).toMatch(/Q \d\.\d{3} · N \d+ · prior \d\.\d{3}/);
    await page.locator('#viewer').screenshot({ path: join(ARTIFACTS, 'tree-viewer.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('the page raised no script errors, and the processes stop cleanly on SIGTERM', async () => {
    expect(pageErrors).toEqual([]);
    for (const p of processes) expect((await p.stop('SIGTERM')).code, p.output()).toBe(0);
  });
});
