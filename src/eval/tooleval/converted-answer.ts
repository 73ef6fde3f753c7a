/**
 * An answer file in StableToolBench's converted form (what its `convert_to_answer_format.py` makes of a
 * `{query_id}_{method}.json` and what its evaluators judge): the query, the functions offered, and the
 * answer as `{method, total_steps, final_answer, answer_details}`, `answer_details` being the solution
 * path as nested `{role, message, next}` nodes (system, user, then `tool` nodes `{name, arguments,
 * response}` and `assistant` nodes).
 *
 * As the original: a valid answer is read from its last `train_messages` conversation (a `function_call`
 * becomes a tool node with the next message as its response, `tool_calls` one tool node per call with
 * the `tool` message of its id; Finish has an empty response; assistant text beside a call is dropped);
 * an invalid one from the tree — one path from the root to a leaf, chosen at random (DFSDT), or from
 * the recorded chain (`trys`, CoT). The random choices are seeded by query id and method here, so a
 * rerun converts the same way (StableToolBench seeds its generator once per conversion run).
 */
import type {
  AnswerFunction,
  AnswerMessage,
  AnswerTreeNode,
  ToolBenchAnswerRecord,
} from '../../core/toolbench.js';
import { FINISH_FUNCTION_NAME } from '../../core/toolbench.js';
import { isRecord } from '../../core/json-text.js';

export interface ToolNodeMessage {
  name: string;
  arguments: string;
  response: string;
}

export interface AnswerDetailNode {
  role: string;
  message: unknown;
  next: AnswerDetailNode[];
}

export interface ConvertedAnswer {
  query: string;
  available_tools: AnswerFunction[];
  answer: {
    method: string;
    total_steps: number;
    final_answer: string;
    answer_details: AnswerDetailNode[];
  };
}

/** A small seeded generator (mulberry32) for the path choices. */
function seededRandom(key: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let state = h;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))] as T;
}

/** A sequence of detail nodes as the nested `answer_details` list (system first). */
function nest(sequence: readonly { role: string; message: unknown }[]): AnswerDetailNode[] {
  let next: AnswerDetailNode[] = [];
  for (let i = sequence.length - 1; i >= 0; i--) {
    const node = sequence[i]!;
    next = [
      { role: node.role, message: node.role === 'system' || node.role === 'user' ? '' : node.message, next },
    ];
  }
  return next;
}

function toolNode(name: string, args: string, response: string): { role: string; message: ToolNodeMessage } {
  return { role: 'tool', message: { name, arguments: args, response } };
}

/** The path of a valid answer: its last train_messages conversation. */
function validSequence(conversation: readonly AnswerMessage[]): { role: string; message: unknown }[] {
  const out: { role: string; message: unknown }[] = [];
  for (let index = 2; index < conversation.length; index++) {
    const message = conversation[index]!;
    if (message.role !== 'assistant') continue;
    if (message.function_call !== undefined) {
      const { name, arguments: args } = message.function_call;
      const response = name !== FINISH_FUNCTION_NAME ? (conversation[index + 1]?.content ?? '') : '';
      out.push(toolNode(name, args, response));
      index++;
    } else if (message.tool_calls !== undefined && message.tool_calls !== null) {
      for (const call of message.tool_calls) {
        const { name, arguments: args } = call.function;
        if (name === FINISH_FUNCTION_NAME) {
          out.push(toolNode(name, args, ''));
          break;
        }
        const result = conversation
          .slice(index + 1)
          .find((m) => m.role === 'tool' && m.tool_call_id === call.id);
        if (result !== undefined) out.push(toolNode(name, args, result.content ?? ''));
      }
    } else {
      out.push({ role: 'assistant', message: message.content ?? null });
    }
  }
  return out;
}

interface RawNode {
  node_type?: unknown;
  description?: unknown;
  observation?: unknown;
  children?: unknown;
}

function childrenOf(node: RawNode): RawNode[] {
  return Array.isArray(node.children) ? (node.children.filter(isRecord) as RawNode[]) : [];
}

/** One random root-to-leaf path of a DFSDT tree, Action and Action Input merged into tool nodes. */
function treeSequence(root: AnswerTreeNode, random: () => number): { role: string; message: unknown }[] {
  const out: { role: string; message: unknown }[] = [];
  let options = childrenOf(root as RawNode);
  while (options.length > 0) {
    const node = pick(options, random);
    const type = String(node.node_type ?? '');
    const children = childrenOf(node);
    const input = type === 'Action' ? children.find((c) => c.node_type === 'Action Input') : undefined;
    if (input !== undefined) {
      out.push(
        toolNode(
          String(node.description ?? ''),
          String(input.description ?? ''),
          String(input.observation ?? ''),
        ),
      );
      options = childrenOf(input);
    } else if (type === 'Thought') {
      out.push({ role: 'assistant', message: String(node.description ?? '') });
      options = children;
    } else {
      // An Action without its input, or a stray Action Input: kept whole, as the original does.
      out.push({ role: type, message: node });
      options = children;
    }
  }
  return out;
}

/** The path of a CoT answer without a final answer: one of its recorded chains (`trys`). */
function chainSequence(chain: readonly RawNode[]): { role: string; message: unknown }[] {
  const out: { role: string; message: unknown }[] = [];
  for (let index = 0; index < chain.length; index++) {
    const node = chain[index]!;
    if (node.node_type === 'Action') {
      const input = chain[index + 1];
      out.push(
        toolNode(
          String(node.description ?? ''),
          String(input?.description ?? ''),
          String(input?.observation ?? ''),
        ),
      );
      index++;
    } else if (node.node_type === 'Thought') {
      out.push({ role: 'assistant', message: String(node.description ?? '') });
    }
  }
  return out;
}

/** The answer file in StableToolBench's converted form. `query` overrides the file's own. */
export function convertAnswer(record: ToolBenchAnswerRecord, query?: string): ConvertedAnswer {
  const generation = record.answer.answer_generation;
  const random = seededRandom(`${record.queryId}\u0000${record.method}`);
  const conversations = generation.train_messages ?? [];
  let sequence: { role: string; message: unknown }[];
  const trys = (record.answer as { trys?: unknown }).trys;
  if (generation.valid_data && conversations.length > 0) {
    sequence = validSequence(conversations[conversations.length - 1]!);
  } else if (/cot/i.test(record.method) && Array.isArray(trys) && trys.length > 0) {
    const trail = pick(trys, random) as { chain?: unknown };
    sequence = chainSequence(Array.isArray(trail.chain) ? (trail.chain.filter(isRecord) as RawNode[]) : []);
  } else if (record.answer.tree !== undefined) {
    sequence = treeSequence(record.answer.tree.tree, random);
  } else {
    sequence = [];
  }
  const full = [{ role: 'system', message: '' }, { role: 'user', message: '' }, ...sequence];
  return {
    query: query ?? generation.query ?? '',
    available_tools: generation.function,
    answer: {
      method: record.method,
      total_steps: full.length,
      final_answer: generation.final_answer,
      answer_details: nest(full),
    },
  };
}

/** The tool nodes of a converted answer's path, in order. */
export function toolSteps(converted: ConvertedAnswer): ToolNodeMessage[] {
  const out: ToolNodeMessage[] = [];
  let nodes = converted.answer.answer_details;
  while (nodes.length > 0) {
    const node = nodes[0]!;
    if (node.role === 'tool' && isRecord(node.message)) out.push(node.message as unknown as ToolNodeMessage);
    nodes = node.next;
  }
  return out;
}

/**
 * StableToolBench's "no answer" test: the path's last tool node is not `Finish` (its pass rate then
 * fails the answer without asking the judge).
 */
export function endsWithFinish(converted: ConvertedAnswer): boolean {
  return toolSteps(converted).at(-1)?.name === FINISH_FUNCTION_NAME;
}
