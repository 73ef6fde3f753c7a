/**
 * A ToolBench answer's search tree (ToolBench's own DFSDT answers and `solve`'s) as the viewer shows it:
 * one node per model call (ToolBench's Thought → Action → Action Input levels folded into one step), the
 * chosen path (the answer's, else the give-up's whose conversation was kept), give-ups, pruned branches,
 * backtracks and the calls spent.
 */
import { isRecord } from '../core/json-text.js';
import type { TreeNodeView, TreeStats, TreeView } from './api.js';

interface RawNode {
  node_type?: unknown;
  description?: unknown;
  observation?: unknown;
  observation_code?: unknown;
  pruned?: unknown;
  finished?: unknown;
  is_terminal?: unknown;
  expand_num?: unknown;
  error?: unknown;
  children?: unknown;
}

const FINISH = 'Finish';
const GIVE_UP = 4;
const ANSWER = 3;

function children(node: RawNode): RawNode[] {
  return Array.isArray(node.children) ? (node.children.filter(isRecord) as RawNode[]) : [];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The steps of a ToolBench tree, and which of them finished, answered or gave up. */
interface Folded {
  nodes: TreeNodeView[];
  finishedIds: number[];
  answerIds: number[];
  giveUpIds: number[];
}

/** Folds ToolBench's levels into steps: a Thought and/or Action + Action Input per model call. */
function foldSteps(root: RawNode): Folded {
  const nodes: TreeNodeView[] = [{ id: 0, parent: -1, depth: 0, pruned: false, gaveUp: false, chosen: true }];
  const finishedIds: number[] = [];
  const answerIds: number[] = [];
  const giveUpIds: number[] = [];

  // Walks raw nodes under `raw`, attaching the steps it completes to `parent`.
  const walk = (raw: RawNode, parent: number, pending: TreeNodeView | undefined): void => {
    const type = text(raw.node_type);
    const current = pending;
    if (type === 'Thought') {
      const node: TreeNodeView = {
        id: nodes.length,
        parent,
        depth: (nodes[parent]?.depth ?? 0) + 1,
        pruned: raw.pruned === true,
        gaveUp: false,
        chosen: false,
      };
      const thought = text(raw.description);
      if (thought !== undefined && thought !== '') node.thought = thought;
      if (typeof raw.expand_num === 'number') node.order = raw.expand_num;
      if (typeof raw.error === 'string') node.error = raw.error;
      nodes.push(node);
      if (raw.finished === true) finishedIds.push(node.id);
      const kids = children(raw);
      // A Thought with no Action under it is a step of its own (a text reply).
      if (kids.length === 0) return;
      for (const kid of kids) {
        if (text(kid.node_type) === 'Action') walk(kid, parent, node);
        else walk(kid, node.id, undefined);
      }
      return;
    }
    if (type === 'Action') {
      let node = current;
      if (node === undefined || node.action !== undefined) {
        node = {
          id: nodes.length,
          parent,
          depth: (nodes[parent]?.depth ?? 0) + 1,
          pruned: false,
          gaveUp: false,
          chosen: false,
        };
        nodes.push(node);
      }
      node.action = text(raw.description) ?? '';
      if (raw.pruned === true) node.pruned = true;
      if (raw.finished === true && !finishedIds.includes(node.id)) finishedIds.push(node.id);
      for (const kid of children(raw)) walk(kid, parent, node);
      return;
    }
    if (type === 'Action Input' && current !== undefined) {
      const node = current;
      node.input = text(raw.description) ?? '';
      const observation = text(raw.observation);
      if (observation !== undefined && observation !== '') node.observation = observation;
      if (typeof raw.observation_code === 'number') node.code = raw.observation_code;
      if (raw.pruned === true) node.pruned = true;
      if (typeof raw.expand_num === 'number' && node.order === undefined) node.order = raw.expand_num;
      if (typeof raw.error === 'string') node.error = raw.error;
      if (node.code === GIVE_UP) {
        node.gaveUp = true;
        giveUpIds.push(node.id);
      }
      if (node.code === ANSWER && node.action === FINISH) answerIds.push(node.id);
      if (raw.finished === true && !finishedIds.includes(node.id)) finishedIds.push(node.id);
      for (const kid of children(raw)) walk(kid, node.id, undefined);
      return;
    }
    // The root (an Action Input without a step) or an unknown level: its children hang from `parent`.
    for (const kid of children(raw)) walk(kid, parent, undefined);
  };
  walk(root, 0, undefined);
  return { nodes, finishedIds, answerIds, giveUpIds };
}

/**
 * Marks the chosen path: the one the kept conversation (train_messages) took, else the answer's
 * (ToolBench marks its nodes `finished`), else the first give-up's. Returns what it ends in.
 */
function markChosenPath(
  folded: Folded,
  generation: Record<string, unknown>,
  finishType: string,
): TreeView['chosenKind'] {
  const { nodes, answerIds, finishedIds, giveUpIds } = folded;
  let chosenKind: TreeView['chosenKind'] = 'none';
  let end = followConversation(nodes, generation.train_messages);
  const answerEnd = answerIds[0] ?? (finishedIds.length > 0 ? Math.max(...finishedIds) : undefined);
  if (end === undefined && answerEnd !== undefined && finishType !== 'give_up') end = answerEnd;
  else if (end === undefined && finishType === 'give_up') end = giveUpIds[0];
  if (end !== undefined) {
    const last = nodes[end];
    chosenKind = last?.gaveUp === true || finishType === 'give_up' ? 'give_up' : 'answer';
  }
  for (let id = end; id !== undefined && id >= 0; id = nodes[id]?.parent) {
    const node = nodes[id];
    if (node === undefined) break;
    node.chosen = true;
    if (id === 0) break;
  }
  return chosenKind;
}

/** Nodes, steps, calls spent, give-ups, pruned branches, backtracks and depth of a folded tree. */
function treeStats(
  root: RawNode,
  folded: Folded,
  generation: Record<string, unknown>,
  finishType: string,
): TreeStats {
  const { nodes } = folded;
  const childCount = new Map<number, number>();
  for (const node of nodes)
    if (node.parent >= 0) childCount.set(node.parent, (childCount.get(node.parent) ?? 0) + 1);
  return {
    nodes: countRaw(root),
    steps: nodes.length - 1,
    calls: typeof generation.query_count === 'number' ? generation.query_count : nodes.length - 1,
    toolCalls: nodes.filter((n) => n.action !== undefined && n.action !== FINISH).length,
    giveUps: folded.giveUpIds.length,
    pruned: nodes.filter((n) => n.pruned).length,
    backtracks: [...childCount.values()].reduce((sum, c) => sum + Math.max(0, c - 1), 0),
    maxDepth: Math.max(0, ...nodes.map((n) => n.depth)),
    finishType,
  };
}

/** A ToolBench answer's search tree as the viewer draws it: steps, the chosen path, its figures. */
export function answerTree(answer: Record<string, unknown>): TreeView | undefined {
  const tree = isRecord(answer.tree) ? answer.tree : undefined;
  const root = tree !== undefined && isRecord(tree.tree) ? (tree.tree as RawNode) : undefined;
  if (root === undefined) return undefined;
  const folded = foldSteps(root);
  const generation = isRecord(answer.answer_generation) ? answer.answer_generation : {};
  const finishType =
    generation.valid_data === false ? 'none' : (text(generation.finish_type) ?? 'give_answer');
  const chosenKind = markChosenPath(folded, generation, finishType);
  const stats = treeStats(root, folded, generation, finishType);
  const stop = text(answer.stop_reason);
  if (stop !== undefined) stats.stopReason = stop;
  return { nodes: folded.nodes, stats, chosenKind };
}

const squash = (value: string): string => value.replace(/\s+/g, '');

/**
 * The last node of the path the kept conversation took: from the root, each function call of the longest
 * `train_messages` conversation matched to a child step with the same function and arguments (the path
 * matching them all, else the longest match).
 */
function followConversation(nodes: readonly TreeNodeView[], trainMessages: unknown): number | undefined {
  if (!Array.isArray(trainMessages) || trainMessages.length === 0) return undefined;
  let longest: unknown[] = [];
  for (const messages of trainMessages)
    if (Array.isArray(messages) && messages.length >= longest.length) longest = messages;
  const calls = longest
    .filter(isRecord)
    .map((m) => (isRecord(m.function_call) ? m.function_call : undefined))
    .filter((c): c is Record<string, unknown> => c !== undefined)
    .map((c) => ({ name: text(c.name) ?? '', args: squash(text(c.arguments) ?? '') }));
  if (calls.length === 0) return undefined;
  const children = new Map<number, TreeNodeView[]>();
  for (const node of nodes) {
    if (node.parent < 0) continue;
    const list = children.get(node.parent) ?? [];
    list.push(node);
    children.set(node.parent, list);
  }
  // Depth first: branches may start with the same calls (a search that gave up and tried again), so
  // a path that matches every call wins over the first one that matches a prefix.
  const follow = (at: number, i: number): { end: number; matched: number } => {
    const call = calls[i];
    if (call === undefined) return { end: at, matched: i };
    let best = { end: at, matched: i };
    for (const child of children.get(at) ?? []) {
      if (child.action !== call.name || squash(child.input ?? '') !== call.args) continue;
      const found = follow(child.id, i + 1);
      if (found.matched === calls.length) return found;
      if (found.matched > best.matched) best = found;
    }
    return best;
  };
  const { end, matched } = follow(0, 0);
  return matched === 0 ? undefined : end;
}

function countRaw(node: RawNode): number {
  return 1 + children(node).reduce((sum, child) => sum + countRaw(child), 0);
}
