/**
 * A DFSDT search tree: one row per model call, indented by depth and joined to its parent, drawn as SVG
 * beside its action. The chosen path is green, give-ups orange, pruned branches grey, failed calls red.
 * Clicking a row shows the step (thought, arguments, observation).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { TreeNodeView, TreeView } from '../api.js';
import { prettyJson } from './parts.js';

const CODES: Record<number, string> = {
  0: 'ok',
  1: 'no such function',
  2: 'bad input',
  3: 'final answer',
  4: 'give up',
  5: 'timeout',
  6: 'not found',
  8: 'unauthorized',
  9: 'rate limited',
  11: 'API error',
  12: 'call failed',
};

function classOf(node: TreeNodeView): string {
  if (node.id === 0) return 'root';
  if (node.gaveUp) return 'give-up';
  if (node.chosen) return 'chosen';
  if (node.pruned) return 'pruned';
  if (node.code !== undefined && node.code !== 0 && node.code !== 3) return 'failed';
  return 'plain';
}

/** Nodes in depth-first order (children in the order the search expanded them). */
function preorder(nodes: readonly TreeNodeView[]): TreeNodeView[] {
  const kids = new Map<number, TreeNodeView[]>();
  for (const node of nodes) {
    if (node.parent < 0) continue;
    const list = kids.get(node.parent) ?? [];
    list.push(node);
    kids.set(node.parent, list);
  }
  const out: TreeNodeView[] = [];
  const visit = (node: TreeNodeView): void => {
    out.push(node);
    const list = (kids.get(node.id) ?? []).sort(
      (a, b) => (a.order ?? a.id) - (b.order ?? b.id) || a.id - b.id,
    );
    for (const child of list) visit(child);
  };
  const root = nodes[0];
  if (root !== undefined) visit(root);
  return out;
}

const ROW = 22;
const INDENT = 18;

/** Counts above the tree: nodes, steps, model and tool calls, backtracks, give-ups, depth, finish. */
function TreeStats(props: { tree: TreeView }): JSX.Element {
  const { tree } = props;
  const s = tree.stats;
  const figure = (value: number | string, label: string): JSX.Element => (
    <span>
      <b>{value}</b> {label}
    </span>
  );
  return (
    <div class="tree-stats">
      {figure(s.nodes, 'nodes')}
      {figure(s.steps, 'steps')}
      {figure(s.calls, 'model calls')}
      {figure(s.toolCalls, 'tool calls')}
      {figure(s.backtracks, 'backtracks')}
      {figure(s.giveUps, 'give-ups')}
      {figure(s.pruned, 'pruned')}
      <span>
        depth <b>{s.maxDepth}</b>
      </span>
      <span>
        finish <b>{s.finishType}</b>
      </span>
      {s.stopReason !== undefined ? (
        <span>
          stop <b>{s.stopReason}</b>
        </span>
      ) : null}
      <span class="muted">
        chosen path:{' '}
        {tree.chosenKind === 'answer' ? 'the answer' : tree.chosenKind === 'give_up' ? 'a give-up' : 'none'}
      </span>
    </div>
  );
}

/** Where each node is drawn: its row (depth-first order) and its indentation (depth). */
interface Layout {
  order: TreeNodeView[];
  x: (n: TreeNodeView) => number;
  y: (n: TreeNodeView) => number;
  top: (n: TreeNodeView) => number;
  graphWidth: number;
  height: number;
}

function layoutOf(tree: TreeView): Layout {
  const order = preorder(tree.nodes);
  const rowOf = new Map(order.map((node, i) => [node.id, i]));
  const maxDepth = Math.max(0, ...tree.nodes.map((n) => n.depth));
  return {
    order,
    x: (n) => n.depth * INDENT + 8,
    y: (n) => (rowOf.get(n.id) ?? 0) * ROW + ROW / 2 + 4,
    top: (n) => (rowOf.get(n.id) ?? 0) * ROW + 4,
    graphWidth: (maxDepth + 1) * INDENT + 12,
    height: order.length * ROW + 8,
  };
}

/** The edges (parent to child, green on the chosen path) and the nodes, as SVG. */
function TreeGraph(props: { tree: TreeView; layout: Layout }): JSX.Element {
  const { tree } = props;
  const { order, x, y, graphWidth, height } = props.layout;
  return (
    <svg class="tree-graph" width={graphWidth} height={height} aria-hidden="true">
      {order.map((n) => {
        const parent = tree.nodes[n.parent];
        if (parent === undefined) return null;
        return (
          <path
            key={`e${n.id}`}
            class={`edge ${n.chosen && parent.chosen ? 'chosen' : ''}`}
            d={`M${x(parent)},${y(parent)} V${y(n)} H${x(n)}`}
          />
        );
      })}
      {order.map((n) => (
        <circle key={`n${n.id}`} class={`node ${classOf(n)}`} cx={x(n)} cy={y(n)} r={n.id === 0 ? 4 : 5} />
      ))}
    </svg>
  );
}

/** One row's label: the action, its result code, its arguments (the root is the query). */
function RowLabel(props: { node: TreeNodeView }): JSX.Element {
  const n = props.node;
  if (n.id === 0) return <span class="muted">query</span>;
  return (
    <>
      <span class="action">{n.action ?? '(text reply)'}</span>
      {n.code !== undefined ? (
        <span class={`code code-${n.code}`}>{CODES[n.code] ?? `code ${n.code}`}</span>
      ) : null}
      {n.pruned && !n.gaveUp ? <span class="code">pruned</span> : null}
      {n.input !== undefined && n.input !== '' && n.input !== '{}' ? (
        <span class="input">{n.input.replace(/\s+/g, ' ').slice(0, 90)}</span>
      ) : null}
    </>
  );
}

/** The picked step: thought, action, arguments, observation, error. */
function NodePanel(props: { node: TreeNodeView }): JSX.Element {
  const node = props.node;
  return (
    <aside class="tree-node panel" data-picked={node.id}>
      <h4>
        step at depth {node.depth}
        {node.order !== undefined ? ` · expanded #${node.order}` : ''}
        {node.chosen ? ' · on the chosen path' : ''}
      </h4>
      {node.thought !== undefined ? <p class="thought">{node.thought}</p> : null}
      {node.action !== undefined ? (
        <p>
          <span class="action">{node.action}</span>
        </p>
      ) : null}
      {node.input !== undefined ? <pre class="args">{prettyJson(node.input)}</pre> : null}
      {node.observation !== undefined ? (
        <>
          <h4>observation {node.code !== undefined ? `(${CODES[node.code] ?? node.code})` : ''}</h4>
          <pre class="observation">{node.observation}</pre>
        </>
      ) : null}
      {node.error !== undefined ? <p class="error">{node.error}</p> : null}
    </aside>
  );
}

export function TreeViewPanel(props: { tree: TreeView }): JSX.Element {
  const { tree } = props;
  const layout = layoutOf(tree);
  const [picked, setPicked] = useState<number>(() => {
    const chosen = layout.order.filter((n) => n.chosen);
    return chosen[chosen.length - 1]?.id ?? 0;
  });
  const node = tree.nodes[picked];
  return (
    <div class="tree-view">
      <TreeStats tree={tree} />
      <div class="tree-legend">
        <span class="dot chosen" /> chosen path <span class="dot give-up" /> give-up{' '}
        <span class="dot pruned" /> pruned <span class="dot failed" /> failed call <span class="dot plain" />{' '}
        explored
      </div>
      <div class="tree-body">
        <div class="tree-rows" style={{ height: `${layout.height}px` }}>
          <TreeGraph tree={tree} layout={layout} />
          <ol class="tree-labels" style={{ left: `${layout.graphWidth}px` }}>
            {layout.order.map((n) => (
              <li
                key={n.id}
                class={`tree-row ${classOf(n)} ${n.id === picked ? 'picked' : ''}`}
                style={{ top: `${layout.top(n)}px` }}
                onClick={() => setPicked(n.id)}
                data-node={n.id}
              >
                <RowLabel node={n} />
              </li>
            ))}
          </ol>
        </div>
        {node !== undefined && node.id !== 0 ? <NodePanel node={node} /> : null}
      </div>
    </div>
  );
}
