/**
 * The search tree shared by the ToolBench solvers, recorded in ToolBench's layout: every model call
 * expands a node with an optional "Thought" node (the reply's text), an "Action" node (the function
 * name) and an "Action Input" node (the arguments, with the observation and its code). Depth counts
 * these levels, as ToolBench's does.
 *
 * Observation codes (ToolBench's): 0 normal, 1 no such function, 2 bad input, 3 final answer, 4 give up,
 * 6 not found (404), 8 unauthorized, 9 too many requests, 11 the API answered an error, 12 the call could
 * not be made (executor failure).
 */
import { messageOf } from '../core/errors.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import { FINISH_FUNCTION_NAME, type AnswerMessage, type AnswerTreeNode } from '../core/toolbench.js';
import { argumentsSchema, wireNames } from '../agents/episode.js';
import { bodyText, type Observation } from '../executors/executor.js';
import { FINISH_FUNCTION, finalAnswerText, taskFunctions } from '../formats/toolbench.js';
import type { ChatMessage, ChatResponse, ToolCall, ToolDefinition } from '../models/chat-model.js';
import type { SolveOptions, SolverTask, StopReason } from './solver.js';
import { solverSystemPrompt, solverUserPrompt, type EarlierCandidate } from './prompts.js';

export const DEFAULT_MAX_OBSERVATION_CHARS = 1024;

export type NodeType = 'Thought' | 'Action' | 'Action Input';

export class TreeNode {
  father: TreeNode | undefined;
  readonly children: TreeNode[] = [];
  isTerminal = false;
  pruned = false;
  finished = false;
  expandNum = 0;
  observation = '';
  observationCode: number | undefined;
  /** Why the node was pruned when it was not a give-up (executor error, empty reply...). */
  error: string | undefined;
  /** The conversation after this node (set on the last node of every step, and on the root). */
  chat: ChatMessage[] = [];
  /** The same conversation in ToolBench's message layout. */
  messages: AnswerMessage[] = [];

  constructor(
    readonly nodeType: NodeType,
    readonly description: string,
    father?: TreeNode,
  ) {
    this.father = father;
    father?.children.push(this);
  }

  get depth(): number {
    let depth = 0;
    for (let node = this.father; node !== undefined; node = node.father) depth++;
    return depth;
  }

  /** True when this node gave up (Finish → give_up_and_restart). */
  get gaveUp(): boolean {
    return this.observationCode === 4;
  }

  /** Nodes from the root (excluded) down to this one. */
  path(): TreeNode[] {
    if (this.father === undefined) return [];
    return [...this.father.path(), this];
  }

  /** The node in ToolBench's layout; without `withChildren`, the node alone (as compare_candidates lists them). */
  toJson(withChildren = true): AnswerTreeNode | Omit<AnswerTreeNode, 'children'> {
    const node = {
      is_terminal: this.isTerminal,
      pruned: this.pruned,
      finished: this.finished,
      depth: this.depth,
      node_type: this.nodeType,
      description: this.description,
      Elo: 1000,
      child_count: this.children.length,
      expand_num: this.expandNum,
      ...(this.nodeType === 'Action Input' ? { observation: this.observation } : {}),
      ...(this.observationCode !== undefined ? { observation_code: this.observationCode } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
    return withChildren
      ? { ...node, children: this.children.map((child) => child.toJson() as AnswerTreeNode) }
      : node;
  }
}

function treeSize(node: TreeNode): number {
  return 1 + node.children.reduce((sum, child) => sum + treeSize(child), 0);
}

function treeLength(node: TreeNode): number {
  return 1 + Math.max(0, ...node.children.map(treeLength));
}

interface Target {
  tool: Tool;
  fn: ToolFunction;
}

/** What one model call produced. */
export interface Expansion {
  /** The last node of the step: the one the search continues from. */
  node: TreeNode;
  /** The model's reply (undefined when the call itself failed). */
  response?: ChatResponse;
}

/**
 * The environment of one task: the functions the model sees, their executor, the counters, and the
 * expansion of a node by one model call. Solvers (chain, DFSDT) decide which node to expand next.
 */
export class SearchSpace {
  readonly root: TreeNode;
  readonly definitions: ToolDefinition[];
  readonly terminalNodes: TreeNode[] = [];
  readonly giveUpNodes: TreeNode[] = [];
  queryCount = 0;
  promptTokens = 0;
  completionTokens = 0;
  private expandCounter = 0;
  private readonly targets = new Map<string, Target>();
  private readonly maxObservationChars: number;

  constructor(
    readonly task: SolverTask,
    readonly options: SolveOptions,
  ) {
    this.maxObservationChars = options.maxObservationChars ?? DEFAULT_MAX_OBSERVATION_CHARS;
    const all = task.tools.flatMap((tool) => tool.functions.map((fn) => ({ tool, fn })));
    const wire = wireNames([...all.map((t) => t.fn.name), FINISH_FUNCTION_NAME]);
    this.definitions = all.map(({ tool, fn }) => {
      const name = wire.get(fn.name) ?? fn.name;
      this.targets.set(name, { tool, fn });
      const description = fn.description ?? fn.summary;
      return {
        name,
        ...(description !== undefined && description !== '' ? { description } : {}),
        parameters: argumentsSchema(fn),
      };
    });
    this.definitions.push({
      name: FINISH_FUNCTION_NAME,
      ...(FINISH_FUNCTION.description !== undefined ? { description: FINISH_FUNCTION.description } : {}),
      parameters: FINISH_FUNCTION.parameters ?? { type: 'object' },
    });
    this.root = new TreeNode('Action Input', '');
    const system = solverSystemPrompt(task.tools);
    const user = solverUserPrompt(task.query);
    this.root.chat = [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ];
    this.root.messages = [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ];
  }

  markExpanded(node: TreeNode): void {
    node.expandNum = this.expandCounter++;
  }

  /**
   * One model call from `node` (with `extraUserMessage` appended for this call only), then the call of
   * the chosen function. Returns the last node created. Model errors propagate (the query fails).
   */
  async expand(node: TreeNode, extraUserMessage?: string): Promise<Expansion> {
    const messages: ChatMessage[] =
      extraUserMessage !== undefined
        ? [...node.chat, { role: 'user', content: extraUserMessage }]
        : node.chat;
    const response = await this.options.model.chat(
      {
        messages,
        tools: this.definitions,
        toolChoice: 'auto',
        ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
        ...(this.options.maxTokens !== undefined ? { maxTokens: this.options.maxTokens } : {}),
      },
      {
        stage: this.options.stage ?? 'assistant',
        ...(this.options.signal !== undefined ? { signal: this.options.signal } : {}),
      },
    );
    this.queryCount++;
    this.promptTokens += response.usage.promptTokens;
    this.completionTokens += response.usage.completionTokens;

    const text = response.text.trim();
    const call: ToolCall | undefined = response.toolCalls[0];
    let last = node;
    if (text !== '' || call === undefined) {
      last = new TreeNode('Thought', text, last);
      if (call === undefined && text === '') {
        last.pruned = true;
        last.error = 'empty reply: neither text nor a function call';
      }
    }
    if (call === undefined) {
      const content = response.text;
      last.chat = [...node.chat, { role: 'assistant', content }];
      last.messages = [...node.messages, { role: 'assistant', content }];
      return { node: last, response };
    }
    const action = new TreeNode('Action', call.name, last);
    const input = new TreeNode('Action Input', call.arguments, action);
    await this.runCall(input, call);
    const assistant: ChatMessage = { role: 'assistant', content: response.text, toolCalls: [call] };
    input.chat = [
      ...node.chat,
      assistant,
      { role: 'tool', content: input.observation, toolCallId: call.id, name: call.name },
    ];
    input.messages = [
      ...node.messages,
      {
        role: 'assistant',
        content: text !== '' ? response.text : null,
        function_call: { name: call.name, arguments: call.arguments },
      },
      { role: 'function', name: call.name, content: input.observation },
    ];
    return { node: input, response };
  }

  private async runCall(node: TreeNode, call: ToolCall): Promise<void> {
    let args: Record<string, unknown>;
    try {
      const parsed: unknown = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object');
      args = parsed as Record<string, unknown>;
    } catch (error) {
      if (call.name === FINISH_FUNCTION_NAME) {
        this.finish(node, call.arguments);
        return;
      }
      this.observe(node, 2, `arguments are not a JSON object (${messageOf(error)})`, '');
      return;
    }
    if (call.name === FINISH_FUNCTION_NAME) {
      this.finish(node, call.arguments, args);
      return;
    }
    const target = this.targets.get(call.name);
    if (target === undefined) {
      this.observe(node, 1, `No such function name: ${call.name}`, '');
      return;
    }
    let observation: Observation;
    try {
      observation = await this.options.executor.execute(target.tool, target.fn.name, args, {
        instanceId: this.task.queryId,
        ...(this.options.signal !== undefined ? { signal: this.options.signal } : {}),
      });
    } catch (error) {
      if (this.options.signal?.aborted === true) throw error;
      this.observe(node, 12, `the call could not be made: ${messageOf(error)}`, '');
      node.pruned = true;
      node.error = `executor error: ${messageOf(error)}`;
      return;
    }
    const body = bodyText(observation.body);
    if (observation.validationErrors !== undefined && observation.validationErrors.length > 0) {
      this.observe(node, 2, observation.validationErrors.join('; '), body);
      return;
    }
    const ok = observation.status >= 200 && observation.status < 300;
    const failed =
      observation.error !== undefined &&
      (observation.body === undefined || observation.body === null || observation.body === '');
    if (failed) {
      // The executor could not produce an answer (model gave up, network error): a dead branch.
      this.observe(node, 12, observation.error ?? 'executor error', body);
      node.pruned = true;
      node.error = `executor error: ${observation.error ?? ''}`;
      return;
    }
    if (ok) {
      this.observe(node, 0, '', body);
      return;
    }
    const code =
      observation.status === 404
        ? 6
        : observation.status === 401 || observation.status === 403
          ? 8
          : observation.status === 429
            ? 9
            : 11;
    this.observe(node, code, observation.error ?? `HTTP ${observation.status}`, body);
  }

  private observe(node: TreeNode, code: number, error: string, response: string): void {
    node.observationCode = code;
    let text = JSON.stringify({ error, response });
    if (text.length > this.maxObservationChars) text = `${text.slice(0, this.maxObservationChars)}...`;
    node.observation = text;
  }

  private finish(node: TreeNode, rawArguments: string, args?: Record<string, unknown>): void {
    let returnType = typeof args?.return_type === 'string' ? args.return_type : undefined;
    // Broken JSON: look for the keys, as ToolBench does.
    if (args === undefined) {
      if (/"return_type"\s*:\s*"give_answer"/.test(rawArguments)) returnType = 'give_answer';
      else if (/"return_type"\s*:\s*"give_up_and_restart"/.test(rawArguments))
        returnType = 'give_up_and_restart';
    }
    if (returnType === 'give_up_and_restart') {
      node.observationCode = 4;
      node.observation = '{"response":"chose to give up and restart"}';
      node.pruned = true;
      return;
    }
    if (returnType === 'give_answer') {
      const answer = args !== undefined ? args.final_answer : finalAnswerText(rawArguments);
      if (answer === undefined || answer === '') {
        node.observationCode = 2;
        node.observation = '{"error":"Finish with give_answer needs \\"final_answer\\""}';
        return;
      }
      node.observationCode = 3;
      node.observation = '{"response":"successfully giving the final answer."}';
      node.isTerminal = true;
      return;
    }
    node.observationCode = 2;
    node.observation =
      returnType === undefined
        ? '{"error":"Finish needs \\"return_type\\""}'
        : '{"error":"\\"return_type\\" must be \\"give_answer\\" or \\"give_up_and_restart\\""}';
  }

  /** Earlier children of `node` as the diversity prompt lists them (first Action Input under each). */
  earlierCandidates(node: TreeNode): EarlierCandidate[] {
    const out: EarlierCandidate[] = [];
    for (const child of node.children) {
      let current = child;
      while (!current.isTerminal && current.nodeType !== 'Action Input' && current.children.length > 0) {
        current = current.children[0] as TreeNode;
      }
      if (current.nodeType === 'Action Input' && current.father !== undefined) {
        out.push({
          name: current.father.description,
          arguments: current.description,
          function_output: current.observation,
        });
      }
    }
    return out;
  }

  /** Training messages of a node: one conversation per assistant turn on its path (ToolBench's layout). */
  trainMessages(node: TreeNode): AnswerMessage[][] {
    const messages = node.messages;
    const out: AnswerMessage[][] = [];
    for (let i = 0; i < messages.length; i++) {
      if (messages[i]?.role === 'assistant') out.push(messages.slice(0, i + 1));
    }
    return out;
  }

  /** The answer file in ToolBench's layout. */
  answerFile(meta: {
    solver: string;
    forwardArgs: Record<string, unknown>;
    stopReason: StopReason;
    model?: string;
    executor?: string;
  }): Record<string, unknown> {
    const answerNode = this.terminalNodes[0];
    const giveUp = this.giveUpNodes[0];
    for (const node of answerNode?.path() ?? []) node.finished = true;
    const generation: Record<string, unknown> = {
      valid_data: false,
      query: this.task.query,
      query_count: this.queryCount,
      total_tokens: this.promptTokens + this.completionTokens,
      final_answer: '',
      finish_type: 'give_answer',
      function: taskFunctions(this.task),
      chain: [],
    };
    if (answerNode !== undefined) {
      generation.valid_data = true;
      generation.final_answer = answerNode.description;
      generation.train_messages = this.trainMessages(answerNode);
    } else if (giveUp !== undefined) {
      generation.valid_data = true;
      generation.finish_type = 'give_up';
      generation.final_answer = giveUp.description;
      generation.train_messages = this.trainMessages(giveUp);
    }
    return {
      query_id: this.task.queryId,
      solver: meta.solver,
      ...(meta.model !== undefined ? { model: meta.model } : {}),
      ...(meta.executor !== undefined ? { executor: meta.executor } : {}),
      stop_reason: meta.stopReason,
      win: answerNode !== undefined,
      tree: { size: treeSize(this.root), max_length: treeLength(this.root), tree: this.root.toJson() },
      forward_args: meta.forwardArgs,
      compare_candidates: this.terminalNodes.map((node) => node.path().map((n) => n.toJson(false))),
      answer_generation: generation,
    };
  }

  finishType(): 'give_answer' | 'give_up' | 'none' {
    if (this.terminalNodes.length > 0) return 'give_answer';
    if (this.giveUpNodes.length > 0) return 'give_up';
    return 'none';
  }

  finalAnswer(): string {
    const node = this.terminalNodes[0];
    return node === undefined ? '' : finalAnswerText(node.description);
  }
}
