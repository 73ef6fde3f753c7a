/**
 * The search tree shared by the ToolBench solvers, recorded in ToolBench's layout: every model call
 * expands a node with an optional "Thought" node (the reply's text), an "Action" node (the function
 * name) and an "Action Input" node (the arguments, with the observation and its code). Depth counts
 * these levels, as ToolBench's does.
 *
 * Observation codes (ToolBench's): 0 normal, 1 no such function, 2 bad input, 3 final answer, 4 give up,
 * 6 not found (404), 8 unauthorized, 9 too many requests, 11 the API answered an error, 12 the call could
 * not be made (executor failure).
 *
 * A reply with several tool calls (parallel calls) runs every one, in order, as StableToolBench does:
 * each adds its Action and Action Input nodes under the previous call's, and every result goes back to
 * the model. A `Finish` that answers or gives up ends the reply (later calls are not run).
 */
import { messageOf } from '../core/errors.js';
import type { Tool, ToolFunction } from '../core/tool.js';
import { FINISH_FUNCTION_NAME, type AnswerMessage, type AnswerTreeNode } from '../core/toolbench.js';
import { wireNames } from '../agents/episode.js';
import { bodyText, type Observation } from '../executors/executor.js';
import { finalAnswerText, taskFunctions } from '../formats/toolbench.js';
import type { ChatMessage, ChatResponse, ToolCall, ToolDefinition } from '../models/chat-model.js';
import type { SolveOptions, SolverTask, StopReason } from './solver.js';
import { PROJECT_PROMPTS, type EarlierCandidate, type SolverPromptSet } from './prompts.js';

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
 * One assistant turn and its results in the answer file's message layout: one call as ToolBench writes
 * it (`function_call`, then a `function` message), several as StableToolBench does (`tool_calls`, then
 * one `tool` message per call with its `tool_call_id`).
 */
function answerMessagesOf(
  content: string | null,
  run: readonly { call: ToolCall; input: TreeNode }[],
): AnswerMessage[] {
  const only = run.length === 1 ? run[0] : undefined;
  if (only !== undefined) {
    return [
      {
        role: 'assistant',
        content,
        function_call: { name: only.call.name, arguments: only.call.arguments },
      },
      { role: 'function', name: only.call.name, content: only.input.observation },
    ];
  }
  return [
    {
      role: 'assistant',
      content,
      tool_calls: run.map(({ call }) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: call.arguments },
      })),
    },
    ...run.map(({ call, input }) => ({
      role: 'tool',
      name: call.name,
      content: input.observation,
      tool_call_id: call.id,
    })),
  ];
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
  readonly prompts: SolverPromptSet;

  constructor(
    readonly task: SolverTask,
    readonly options: SolveOptions,
  ) {
    this.maxObservationChars = options.maxObservationChars ?? DEFAULT_MAX_OBSERVATION_CHARS;
    this.prompts = options.prompts ?? PROJECT_PROMPTS;
    const finish = this.prompts.finish;
    const all = task.tools.flatMap((tool) => tool.functions.map((fn) => ({ tool, fn })));
    const wire = wireNames([...all.map((t) => t.fn.name), FINISH_FUNCTION_NAME]);
    this.definitions = all.map(({ tool, fn }) => {
      const name = wire.get(fn.name) ?? fn.name;
      this.targets.set(name, { tool, fn });
      const description = fn.description ?? fn.summary;
      return {
        name,
        ...(description !== undefined && description !== '' ? { description } : {}),
        parameters: fn.inputSchema,
      };
    });
    this.definitions.push({
      name: FINISH_FUNCTION_NAME,
      ...(finish.description !== undefined ? { description: finish.description } : {}),
      parameters: finish.parameters ?? { type: 'object' },
    });
    this.root = new TreeNode('Action Input', '');
    const system = this.prompts.system(task.tools);
    const user = this.prompts.user(task.query);
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
    const calls = response.toolCalls;
    let last = node;
    if (text !== '' || calls.length === 0) {
      last = new TreeNode('Thought', text, last);
      if (calls.length === 0 && text === '') {
        last.pruned = true;
        last.error = 'empty reply: neither text nor a function call';
      }
    }
    if (calls.length === 0) {
      const content = response.text;
      last.chat = [...node.chat, { role: 'assistant', content }];
      last.messages = [...node.messages, { role: 'assistant', content }];
      return { node: last, response };
    }
    // Every call of the reply, in order, each under the previous one's Action Input.
    const run: { call: ToolCall; input: TreeNode }[] = [];
    let failure: string | undefined;
    for (const call of calls) {
      const action = new TreeNode('Action', call.name, last);
      const input = new TreeNode('Action Input', call.arguments, action);
      await this.runCall(input, call);
      run.push({ call, input });
      last = input;
      if (input.isTerminal || input.gaveUp) break;
      if (input.pruned) failure ??= input.error;
    }
    // A call that could not be made prunes the step it belongs to (the last node), as a single failed call does.
    if (failure !== undefined && !last.isTerminal && !last.gaveUp) {
      last.pruned = true;
      last.error ??= failure;
    }
    const assistant: ChatMessage = {
      role: 'assistant',
      content: response.text,
      toolCalls: run.map((r) => r.call),
    };
    last.chat = [
      ...node.chat,
      assistant,
      ...run.map(({ call, input }): ChatMessage => ({
        role: 'tool',
        content: input.observation,
        toolCallId: call.id,
        name: call.name,
      })),
    ];
    last.messages = [...node.messages, ...answerMessagesOf(text !== '' ? response.text : null, run)];
    return { node: last, response };
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
    /** ToolBench's method name (`DFS_woFilter_w2`, `CoT@1`). */
    method: string;
    /** The last node of a single chain (ReAct): recorded as ToolBench's `trys`. */
    chain?: TreeNode;
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
      function: [...taskFunctions(this.task).slice(0, -1), this.prompts.finish],
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
      method: meta.method,
      prompt_set: this.prompts.name,
      ...(meta.model !== undefined ? { model: meta.model } : {}),
      ...(meta.executor !== undefined ? { executor: meta.executor } : {}),
      stop_reason: meta.stopReason,
      win: answerNode !== undefined,
      ...(meta.chain !== undefined
        ? {
            // CoT@1 files carry the chain as ToolBench's single chain does (StableToolBench converts from it).
            try_count: 1,
            trys: [{ chain: meta.chain.path().map((n) => n.toJson(false)), win: answerNode !== undefined }],
          }
        : {}),
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
