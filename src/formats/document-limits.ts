/**
 * Bounds checked on a parsed document before anything walks it recursively: nesting depth (a 10,000-level
 * schema overflows the stack of recursive walkers) and the size the document reaches once its internal
 * `$ref`s are expanded (40 schemas that each reference the previous one twice expand to 2^40 nodes, and
 * the `$ref` resolver walks every one of them). Both walks here are iterative and visit each object once.
 */
import { isRecord } from '../core/json-text.js';

/** Deepest nesting of objects and arrays accepted: far beyond real specs, well within the stack. */
export const DEFAULT_MAX_DEPTH = 1000;
/**
 * Most nodes a document may expand to through its `$ref`s (the resolver takes about 10 µs a node, so
 * this is seconds at worst; real specs stay far below).
 */
export const DEFAULT_MAX_EXPANDED_NODES = 1_000_000;

/** The nesting depth of `value`, or `undefined` as soon as it passes `limit`. */
export function depthWithin(value: unknown, limit: number): number | undefined {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return undefined;
    if (depth > deepest) deepest = depth;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** The target of a local JSON pointer (`#/a/b`), or undefined. */
function resolvePointer(root: unknown, ref: string): unknown {
  if (ref === '#' || ref === '#/') return root;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    let token: string;
    try {
      token = decodeURIComponent(raw);
    } catch {
      token = raw;
    }
    token = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isRecord(node)) node = node[token];
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

interface Frame {
  node: object;
  children: unknown[];
  next: number;
  total: number;
}

/**
 * How many nodes (objects, arrays and scalars) `doc` has once every internal `$ref` is replaced by its
 * target, or `undefined` as soon as the count passes `limit`. A `$ref` back into its own expansion (a
 * cycle) counts as one node, as resolvers leave such references in place. Each object is counted once
 * and its count reused, so the walk is linear in the document's size even when the expansion is not.
 */
export function expandedSizeWithin(doc: unknown, limit: number): number | undefined {
  if (typeof doc !== 'object' || doc === null) return 1;
  const counted = new Map<object, number>();
  const open = new Set<object>();
  const childrenOf = (node: object): unknown[] => {
    const values = Array.isArray(node) ? [...(node as unknown[])] : Object.values(node);
    const ref = (node as { $ref?: unknown }).$ref;
    if (!Array.isArray(node) && typeof ref === 'string' && ref.startsWith('#')) {
      const target = resolvePointer(doc, ref);
      if (typeof target === 'object' && target !== null) values.push(target);
    }
    return values;
  };
  const stack: Frame[] = [{ node: doc, children: childrenOf(doc), next: 0, total: 1 }];
  open.add(doc);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++];
      if (typeof child !== 'object' || child === null || open.has(child)) frame.total += 1;
      else {
        const known = counted.get(child);
        if (known !== undefined) frame.total += known;
        else {
          open.add(child);
          stack.push({ node: child, children: childrenOf(child), next: 0, total: 1 });
          continue;
        }
      }
      if (frame.total > limit) return undefined;
      continue;
    }
    stack.pop();
    open.delete(frame.node);
    counted.set(frame.node, frame.total);
    const parent = stack[stack.length - 1];
    if (parent === undefined) return frame.total;
    parent.total += frame.total;
    if (parent.total > limit) return undefined;
  }
  return undefined;
}
