import { stratify, tree as treeLayout, type HierarchyPointNode } from 'd3-hierarchy';
import type { SearchTree, TreeNode } from '../../../schemas/searchTree.js';
import type { TraceView } from '../dashboardStore.js';
import { PALETTE } from './charts.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Vertical distance between siblings and horizontal distance between depths (px). */
const ROW_PX = 18;
const DEPTH_PX = 170;
const MARGIN = 24;

const el = <K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] => {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
};

/** Q(s) = value_sum / N(s) (ASTRO-METHOD §2); 0 for an unvisited node. */
export const qOf = (n: TreeNode): number => (n.visits > 0 ? n.value_sum / n.visits : 0);

const verdictClass = (n: TreeNode): string => (!n.terminal ? 'inner' : n.correct === true ? 'terminal-correct' : n.correct === false ? 'terminal-wrong' : 'terminal-unknown');

/** What the info box says about a node. */
export function describeNode(n: TreeNode): string {
  const verdict = n.terminal ? `terminal, ${n.correct === true ? 'correct' : n.correct === false ? 'wrong' : 'unverified'}${n.answer === null ? '' : ` (answer ${n.answer})`}` : n.expanded ? 'expanded' : 'leaf (not expanded)';
  return [
    `node ${n.id}${n.parent >= 0 ? ` ← ${n.parent}` : ' (root)'} · depth ${n.depth} · ${verdict}`,
    `Q ${qOf(n).toFixed(3)} · N ${n.visits} · prior ${n.prior.toFixed(3)} · R ${n.rollout_estimate.toFixed(3)} (${n.rollouts} rollouts)`,
    '',
    n.step === '' ? '(the problem)' : n.step,
  ].join('\n');
}

/**
 * Draws a search tree into `svg` with d3-hierarchy's tidy-tree layout (root at the left, depth to
 * the right): node size grows with visits N, colour says the terminal verdict, and the edges each
 * trace walks (`node_path`) are drawn in the trace's colour. `select(i)` emphasizes trace i.
 */
export class TreeView {
  private overlays: SVGGElement[] = [];
  private nodesLayer: SVGGElement | undefined;
  private selectedNode: SVGGElement | undefined;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly onNode: (node: TreeNode, pinned: boolean) => void,
  ) {}

  render(tree: SearchTree, traces: readonly TraceView[]): void {
    this.svg.replaceChildren();
    this.overlays = [];
    const root = stratify<TreeNode>()
      .id((n) => String(n.id))
      .parentId((n) => (n.parent < 0 ? null : String(n.parent)))([...tree.nodes]);
    const laid = treeLayout<TreeNode>().nodeSize([ROW_PX, DEPTH_PX])(root);
    let minX = Infinity;
    let maxX = -Infinity;
    let maxY = 0;
    laid.each((n) => {
      minX = Math.min(minX, n.x);
      maxX = Math.max(maxX, n.x);
      maxY = Math.max(maxY, n.y);
    });
    const width = maxY + DEPTH_PX + MARGIN * 2;
    const height = maxX - minX + MARGIN * 2;
    this.svg.setAttribute('width', String(width));
    this.svg.setAttribute('height', String(height));
    this.svg.setAttribute('viewBox', `${-MARGIN} ${minX - MARGIN} ${width} ${height}`);
    const byId = new Map<number, HierarchyPointNode<TreeNode>>();
    laid.each((n) => byId.set(n.data.id, n));
    const edge = (from: HierarchyPointNode<TreeNode>, to: HierarchyPointNode<TreeNode>): string => {
      const mid = (from.y + to.y) / 2;
      return `M${from.y},${from.x}C${mid},${from.x} ${mid},${to.x} ${to.y},${to.x}`;
    };

    const links = el('g', {}, this.svg);
    for (const l of laid.links()) el('path', { class: 'link', d: edge(l.source, l.target) }, links);
    traces.forEach((trace, i) => {
      const g = el('g', { 'data-trace': trace.trace_id, opacity: 0.55 }, this.svg);
      for (const id of new Set(trace.node_path)) {
        const n = byId.get(id);
        if (n?.parent) el('path', { class: 'link on-path', d: edge(n.parent, n), stroke: PALETTE[i % PALETTE.length] as string }, g);
      }
      this.overlays.push(g);
    });

    const nodes = el('g', {}, this.svg);
    this.nodesLayer = nodes;
    const maxVisits = Math.max(1, ...tree.nodes.map((n) => n.visits));
    laid.each((n) => {
      const g = el('g', { class: `node ${verdictClass(n.data)}`, transform: `translate(${n.y},${n.x})`, 'data-node': n.data.id }, nodes);
      el('circle', { r: 3 + 5 * Math.sqrt(n.data.visits / maxVisits) }, g);
      const label = n.data.step === '' ? 'problem' : n.data.step.length > 26 ? `${n.data.step.slice(0, 25)}…` : n.data.step;
      el('text', { x: 9, y: 3 }, g).textContent = label;
      g.addEventListener('mouseenter', () => this.onNode(n.data, false));
      g.addEventListener('click', () => {
        this.selectedNode?.classList.remove('selected');
        this.selectedNode = g;
        g.classList.add('selected');
        this.onNode(n.data, true);
      });
    });
  }

  /** Emphasizes trace `index` (null: all traces equally). */
  select(index: number | null): void {
    this.overlays.forEach((g, i) => g.setAttribute('opacity', index === null ? '0.55' : i === index ? '1' : '0.12'));
    // The emphasized path goes on top of the other paths, still under the nodes.
    const chosen = index === null ? undefined : this.overlays[index];
    if (chosen !== undefined && this.nodesLayer !== undefined) this.svg.insertBefore(chosen, this.nodesLayer);
  }
}
