import type { SearchTree } from '../../../schemas/searchTree.js';
import type { DatasetOverview, TraceView, TreeSummary } from '../dashboardStore.js';
import type { MetricsPoint } from '../metricsHistory.js';
import { Chart, PALETTE, type SeriesData } from './charts.js';
import { describeNode, TreeView } from './treeView.js';

/** What `/api/overview` answers. */
type Overview = DatasetOverview & {
  readonly now: number;
  readonly source: { readonly dir: string | null; readonly brokers: readonly string[] | null; readonly metrics: readonly string[] };
  readonly metrics: { readonly points: readonly MetricsPoint[]; readonly errors: Readonly<Record<string, string>> };
};
type TreeListItem = TreeSummary & { readonly traces: number };

const POLL_MS = 2000;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const getJson = async <T>(path: string): Promise<T> => {
  const res = await fetch(path, { cache: 'no-store' });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
};
const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
const seconds = (ms: number): number => ms / 1000;
const note = (panel: string, text: string): void => {
  const p = $(panel).querySelector('.note');
  if (p !== null) p.textContent = text;
};

const charts = {
  throughput: new Chart($('chart-throughput'), { kind: 'time', yLabel: 'records/s' }),
  lag: new Chart($('chart-lag'), { kind: 'time', yLabel: 'records' }),
  rates: new Chart($('chart-rates'), { kind: 'time', percent: true }),
  policy: new Chart($('chart-policy'), { kind: 'categories', percent: true }),
  backtracks: new Chart($('chart-backtracks'), { kind: 'bars', yLabel: 'traces' }),
  learning: new Chart($('chart-learning'), { kind: 'time', percent: true, rightLabel: 'loss' }),
};

/** Per-second rate of each key between consecutive points (the first point has none). */
function rates(points: readonly MetricsPoint[], pick: (p: MetricsPoint) => Readonly<Record<string, number>>): { x: number[]; series: SeriesData[] } {
  const keys = [...new Set(points.flatMap((p) => Object.keys(pick(p))))].sort();
  const x = points.slice(1).map((p) => seconds(p.t));
  const series = keys.map((k) => ({
    label: k,
    values: points.slice(1).map((p, i) => {
      const prev = points[i] as MetricsPoint;
      const dt = seconds(p.t - prev.t);
      const a = pick(prev)[k];
      const b = pick(p)[k];
      return dt > 0 && a !== undefined && b !== undefined ? Math.max(0, (b - a) / dt) : null;
    }),
  }));
  return { x, series };
}

function renderThroughput(o: Overview): void {
  const points = o.metrics.points;
  if (points.length >= 2 && points.some((p) => Object.keys(p.records_in).length > 0)) {
    const r = rates(points, (p) => p.records_in);
    charts.throughput.update(r.x, r.series);
    note('panel-throughput', `records received per stage, from ${o.source.metrics.length} metrics endpoint(s)`);
    return;
  }
  const pts = o.timeline.points;
  const per = seconds(o.timeline.bucket_ms);
  charts.throughput.update(
    pts.map((p) => seconds(p.t)),
    [
      { label: 'trees/s', values: pts.map((p) => p.trees / per) },
      { label: 'traces/s', values: pts.map((p) => p.traces / per) },
    ],
  );
  note('panel-throughput', `trees and traces per second by search time (${per} s buckets); per-stage rates need --metrics`);
}

function renderLag(o: Overview): void {
  const points = o.metrics.points;
  const groups = [...new Set(points.flatMap((p) => Object.keys(p.lag)))].sort();
  charts.lag.update(
    points.map((p) => seconds(p.t)),
    groups.map((g) => ({ label: g, values: points.map((p) => p.lag[g] ?? null) })),
  );
  note('panel-lag', groups.length > 0 ? 'end offset minus committed offset, summed over partitions' : 'no lag source: pass --metrics (endpoints of the stages) or --brokers');
}

function renderRates(o: Overview): void {
  const pts = o.timeline.points;
  charts.rates.update(
    pts.map((p) => seconds(p.t)),
    [
      { label: 'valid-tree rate', values: pts.map((p) => ratio(p.valid, p.trees)) },
      { label: 'solve rate (correct terminals)', values: pts.map((p) => ratio(p.correct_terminals, p.terminals)) },
    ],
  );
  note('panel-rates', `valid tree: at least one correct terminal; solve rate: correct / all terminal answers the policy reached. ${seconds(o.timeline.bucket_ms)} s buckets by search time`);
}

const shortVersion = (v: string): string => {
  const at = v.indexOf('@');
  const tail = at < 0 ? v : v.slice(at + 1);
  return tail.length > 14 ? `${tail.slice(0, 13)}…` : tail;
};

function renderPolicy(o: Overview): void {
  const byVersion = o.by_policy;
  charts.policy.update(
    byVersion.map((_, i) => i),
    [
      { label: 'valid-tree rate', values: byVersion.map((p) => ratio(p.valid, p.trees)) },
      { label: 'solve rate', values: byVersion.map((p) => ratio(p.correct_terminals, p.terminals)) },
    ],
    byVersion.map((p) => shortVersion(p.policy_version)),
  );
  note('panel-policy', byVersion.map((p) => `${shortVersion(p.policy_version)}: ${p.trees} trees`).join(' · '));
}

function renderBacktracks(o: Overview): void {
  const entries = Object.entries(o.backtracks).map(([k, v]) => [Number(k), v] as const);
  const max = Math.max(0, ...entries.map(([k]) => k));
  const counts = Array.from({ length: max + 1 }, (_, k) => o.backtracks[String(k)] ?? 0);
  charts.backtracks.update(
    counts.map((_, i) => i),
    [{ label: 'traces', values: counts }],
    counts.map((_, i) => String(i)),
  );
  note('panel-backtracks', Object.entries(o.variants).map(([v, n]) => `${v} ${n}`).join(' · ') || 'no traces yet');
}

function renderLearning(o: Overview): void {
  const points = o.metrics.points.filter((p) => Object.keys(p.trainer_loss).length > 0 || p.rollout_samples !== null);
  if (points.length > 0) {
    const components = [...new Set(points.flatMap((p) => Object.keys(p.trainer_loss)))].sort();
    const solve = points.map((p, i) => {
      // Rollout solve rate over the last ~10 polls: cumulative counters, differenced.
      const from = points[Math.max(0, i - 10)] as MetricsPoint;
      return ratio((p.rollout_correct ?? 0) - (from.rollout_correct ?? 0), (p.rollout_samples ?? 0) - (from.rollout_samples ?? 0));
    });
    charts.learning.update(points.map((p) => seconds(p.t)), [
      { label: 'rollout solve rate', values: solve },
      ...components.map((c) => ({ label: `loss ${c}`, values: points.map((p) => p.trainer_loss[c] ?? null), right: true, dash: [4, 3] })),
    ]);
    const version = points.at(-1)?.policy_version;
    note('panel-learning', `trainer (metrics endpoint)${version === null || version === undefined ? '' : `: policy v${version}`}`);
    return;
  }
  if (o.policy_versions.length > 0) {
    const v = o.policy_versions;
    const names = [...new Set(v.flatMap((p) => Object.keys(p.metrics)))].filter((n) => /loss|ce|bce/.test(n)).sort();
    charts.learning.update(v.map((p) => seconds(p.created_at)), names.map((n) => ({ label: n, values: v.map((p) => p.metrics[n] ?? null), right: true })));
    note('panel-learning', `losses recorded with each of ${v.length} published policy versions`);
    return;
  }
  const byVersion = o.by_policy;
  charts.learning.update(
    byVersion.map((p) => seconds(p.first_at)),
    [{ label: 'valid-tree rate by policy version', values: byVersion.map((p) => ratio(p.valid, p.trees)) }],
  );
  note('panel-learning', 'valid-tree rate per policy version, at its first tree; trainer losses need --metrics (run --train) or --brokers');
}

function renderDeadLetters(o: Overview): void {
  $('dlq-total').textContent = `${o.dead_letters.total} total`;
  $('dlq-kinds').replaceChildren(
    ...o.dead_letters.by_kind.map((k) => {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.textContent = `${k.stage} · ${k.kind}: ${k.count}`;
      return chip;
    }),
  );
  const body = $('dlq-table').querySelector('tbody') as HTMLTableSectionElement;
  body.replaceChildren(
    ...o.dead_letters.recent.map((d) => {
      const tr = document.createElement('tr');
      const cells = [new Date(Number(d['failed_at'])).toISOString().slice(11, 19), d['stage'], d['kind'], `${String(d['source_topic'])}[${String(d['partition'])}]@${String(d['offset'])}`, d['key'] ?? '', d['reason']];
      cells.forEach((c, i) => {
        const td = document.createElement('td');
        td.textContent = String(c);
        if (i === 5) td.className = 'reason';
        tr.appendChild(td);
      });
      return tr;
    }),
  );
  if (o.dead_letters.total === 0) {
    const tr = document.createElement('tr');
    tr.innerHTML = '<td colspan="6" class="muted">no dead letters</td>';
    body.appendChild(tr);
  }
}

function renderTiles(o: Overview): void {
  const version = o.metrics.points.at(-1)?.policy_version ?? o.policy_versions.at(-1)?.version;
  const tiles: [string, string][] = [
    [String(o.counts.problems), 'problems'],
    [String(o.counts.trees), 'trees'],
    [`${o.counts.valid_trees}`, `valid trees (${o.counts.trees > 0 ? ((o.counts.valid_trees / o.counts.trees) * 100).toFixed(1) : '0'}%)`],
    [String(o.counts.traces), 'traces'],
    [String(o.counts.dead_letters), 'dead letters'],
    [version === undefined || version === null ? '–' : `v${version}`, 'policy version'],
  ];
  $('tiles').replaceChildren(
    ...tiles.map(([value, label]) => {
      const d = document.createElement('div');
      d.className = 'tile';
      d.innerHTML = '<b></b><span></span>';
      (d.firstChild as HTMLElement).textContent = value;
      (d.lastChild as HTMLElement).textContent = label;
      return d;
    }),
  );
  const source = [o.source.dir === null ? '' : `dir ${o.source.dir}`, o.source.brokers === null ? '' : `brokers ${o.source.brokers.join(',')}`, o.source.metrics.length > 0 ? `${o.source.metrics.length} metrics endpoint(s)` : '']
    .filter((s) => s !== '')
    .join(' · ');
  $('source').textContent = `${source}${o.manifest === null ? '' : ` · manifest: ${o.manifest.command}`}`;
  const notices = [...o.read_errors.slice(0, 5).map((e) => `cannot read ${e}`), ...Object.entries(o.metrics.errors).map(([url, e]) => `${url}: ${e}`)];
  $('notices').replaceChildren(
    ...notices.map((n) => {
      const p = document.createElement('p');
      p.textContent = n;
      return p;
    }),
  );
}

// ---- the tree viewer ----

const treeView = new TreeView($('tree-svg') as unknown as SVGSVGElement, (node, pinned) => {
  if (pinned || !pinnedNode) $('node-info').textContent = describeNode(node);
  if (pinned) pinnedNode = true;
});
let pinnedNode = false;
let currentTree = '';
let listQuery: string | undefined;

async function refreshTreeList(force = false): Promise<void> {
  const query = ($('tree-query') as HTMLInputElement).value;
  if (!force && query === listQuery) return;
  listQuery = query;
  const { trees } = await getJson<{ trees: TreeListItem[] }>(`/api/trees?q=${encodeURIComponent(query)}&limit=300`);
  const select = $('tree-select') as HTMLSelectElement;
  const keep = select.value || currentTree;
  select.replaceChildren(
    ...trees.map((t) => {
      const o = document.createElement('option');
      o.value = t.tree_id;
      o.textContent = `${t.valid ? '✓' : '✗'} ${t.problem_id.slice(0, 16)} · tree ${t.tree_id.slice(0, 12)} · ${t.nodes} nodes · ${t.traces} traces`;
      return o;
    }),
  );
  $('tree-ids').replaceChildren(
    ...trees.slice(0, 100).flatMap((t) => [t.problem_id, t.tree_id]).map((id) => {
      const o = document.createElement('option');
      o.value = id;
      return o;
    }),
  );
  const wanted = trees.some((t) => t.tree_id === keep) ? keep : (trees[0]?.tree_id ?? '');
  select.value = wanted;
  if (wanted !== currentTree && wanted !== '') await showTree(wanted);
}

async function showTree(id: string): Promise<void> {
  currentTree = id;
  pinnedNode = false;
  const { tree, traces } = await getJson<{ tree: SearchTree; summary: TreeSummary; traces: TraceView[] }>(`/api/tree?id=${encodeURIComponent(id)}`);
  if (currentTree !== id) return;
  treeView.render(tree, traces);
  const terminals = tree.nodes.filter((n) => n.terminal);
  const count = $('tree-node-count');
  count.dataset['nodes'] = String(tree.nodes.length);
  count.textContent = `${tree.nodes.length} nodes · ${terminals.length} terminals (${terminals.filter((n) => n.correct === true).length} correct) · ${tree.policy_version}`;
  $('node-info').textContent = `${tree.problem_id}\n\n${tree.problem.question}`;
  $('trace-count').textContent = `${traces.length}`;
  const list = $('trace-list');
  const text = $('trace-text');
  text.textContent = traces.length === 0 ? 'no traces of this tree (yet): invalid trees have none' : 'click a trace to read it; its path is highlighted';
  list.replaceChildren(
    ...traces.map((t, i) => {
      const li = document.createElement('li');
      li.innerHTML = '<span class="swatch"></span><span></span>';
      (li.firstChild as HTMLElement).style.background = PALETTE[i % PALETTE.length] as string;
      (li.lastChild as HTMLElement).textContent = `${t.variant} · k=${t.k} · ${t.num_backtracks} backtracks · ${t.correct ? 'correct' : 'wrong'} · path ${t.node_path.join('→')}`;
      li.addEventListener('click', () => {
        const active = li.classList.contains('active');
        list.querySelectorAll('li').forEach((x) => x.classList.remove('active'));
        treeView.select(active ? null : i);
        if (!active) li.classList.add('active');
        text.textContent = active ? '' : t.completion;
      });
      return li;
    }),
  );
  history.replaceState(null, '', `#tree=${encodeURIComponent(id)}`);
}

($('tree-select') as HTMLSelectElement).addEventListener('change', (e) => void showTree((e.target as HTMLSelectElement).value).catch(showError));
($('tree-query') as HTMLInputElement).addEventListener('input', () => void refreshTreeList().catch(showError));

function showError(error: unknown): void {
  const status = $('status');
  status.className = 'status down';
  status.textContent = error instanceof Error ? error.message : String(error);
}

// ---- the poll loop ----

let lastRevision = -1;
async function tick(): Promise<void> {
  try {
    const o = await getJson<Overview>('/api/overview');
    renderTiles(o);
    renderThroughput(o);
    renderLag(o);
    if (o.revision !== lastRevision) {
      lastRevision = o.revision;
      renderRates(o);
      renderPolicy(o);
      renderBacktracks(o);
      renderDeadLetters(o);
      await refreshTreeList(true);
    }
    renderLearning(o);
    const status = $('status');
    status.className = 'status live';
    status.textContent = `live · updated ${new Date(o.now).toLocaleTimeString()}`;
  } catch (error) {
    showError(error);
  } finally {
    setTimeout(() => void tick(), POLL_MS);
  }
}

const fromHash = /^#tree=(.+)$/.exec(location.hash)?.[1];
if (fromHash !== undefined) void showTree(decodeURIComponent(fromHash)).catch(showError);
void tick();
