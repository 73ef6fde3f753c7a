/**
 * A conversation rendered into one prompt with a template, and a continuation read back into text and
 * tool calls (see templates.ts for the templates).
 */
import { createHash } from 'node:crypto';
import type { ChatMessage, ChatRequest, ToolCall } from '../chat-model.js';
import type { ErrorDetails } from '../../core/errors.js';
import { ModelCallError } from '../model-errors.js';
import { pythonRepr } from './python-repr.js';
import type { ToolBenchSystemTexts } from './sources.js';
import type { ConversationTemplate } from './templates.js';

/** Texts a template reads from original files, loaded once per model. */
export interface TemplateTexts {
  /** The default system message (from FastChat's conversation.py, or the template's own text). */
  defaultSystem?: string;
  /** ToolBench's system-message texts (from toolbench/utils.py). */
  toolbench?: ToolBenchSystemTexts;
}

function refuse(message: string, details?: ErrorDetails): ModelCallError {
  return new ModelCallError(message, { kind: 'client_error', details });
}

/** An assistant turn's text: its content, and its tool calls in the template's text format. */
function assistantText(template: ConversationTemplate, message: ChatMessage & { role: 'assistant' }): string {
  const calls = message.toolCalls ?? [];
  if (calls.length === 0 || template.toolCalls === 'none') return message.content;
  let text = `Thought: ${message.content}`;
  for (const call of calls) text += `\nAction: ${call.name}\nAction Input: ${call.arguments}`;
  return text;
}

/** ToolBench's `process_system_message`: the format note after its anchor sentence, then the functions. */
function withToolBenchFunctions(system: string, request: ChatRequest, texts: TemplateTexts): string {
  const toolbench = texts.toolbench;
  if (toolbench === undefined)
    throw refuse("the template needs ToolBench's system-message texts (toolbench/utils.py)");
  if (!system.includes(toolbench.anchor)) {
    throw refuse(
      "the system message lacks the sentence ToolBench's process_system_message expects: give ToolBench's system prompt (the `toolbench` prompt set)",
      { reason: 'template-needs-toolbench-prompt' },
    );
  }
  const functions = (request.tools ?? []).map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    parameters: tool.parameters,
  }));
  return (
    system.split(toolbench.anchor).join(toolbench.replacement) +
    toolbench.functionsPrefix +
    pythonRepr(functions)
  );
}

/** The prompt for `request`: every message rendered in turn, then the reply prefix. */
export function renderPrompt(
  template: ConversationTemplate,
  request: ChatRequest,
  texts: TemplateTexts,
): string {
  const tools = request.tools ?? [];
  if (tools.length > 0 && template.toolCalls === 'none') {
    throw refuse(
      `the ${template.name} template has no tool-call format: call this model with tools in the prompt text (e.g. the ReAct mode), not as functions`,
      { reason: 'template-no-tool-calls', template: template.name },
    );
  }
  const messages = [...request.messages];
  let systemText: string | undefined;
  if (messages[0]?.role === 'system') systemText = (messages.shift() as ChatMessage).content;
  else if (template.defaultSystem !== undefined) {
    systemText = 'text' in template.defaultSystem ? template.defaultSystem.text : texts.defaultSystem;
    if (systemText === undefined) {
      throw refuse(
        `the conversation has no system message and the ${template.name} template's default is read from FastChat's conversation.py: give it as \`templateSource\``,
        { reason: 'template-needs-fastchat-source', template: template.name },
      );
    }
  }
  if (systemText !== undefined && template.functionsInSystem === 'toolbench' && tools.length > 0) {
    systemText = withToolBenchFunctions(systemText, request, texts);
  }
  const turn = (role: keyof ConversationTemplate['roles'], text: string): string => {
    const label = template.roles[role];
    return `${label === '' ? '' : `${label}${template.labelSeparator}`}${text}${template.messageEnd[role]}`;
  };
  let prompt = '';
  if (template.system === 'prefix') prompt += `${systemText ?? ''}${template.messageEnd.system}`;
  else if (systemText !== undefined) prompt += turn('system', systemText);
  for (const message of messages) {
    prompt += turn(
      message.role,
      message.role === 'assistant' ? assistantText(template, message) : message.content,
    );
  }
  return prompt + template.replyPrefix;
}

/** Index of the first `Action:` label that is not `Action Input:`; -1 when none. */
function actionLabel(text: string): number {
  const match = /Action:(?! ?Input)/.exec(text.replace(/Action Input:/g, (m) => ' '.repeat(m.length)));
  return match === null ? -1 : match.index;
}

function withoutThoughtLabel(text: string): string {
  return text.replace(/^\s*Thought:\s?/, '');
}

/**
 * Reads a continuation: for `react` templates, ToolBench's react_parser reading (the thought before
 * `Action:`, the action's name up to `Action Input:`, the input to the end) into one tool call; the text
 * alone otherwise.
 */
export function parseContinuation(
  template: ConversationTemplate,
  raw: string,
): { text: string; toolCalls: ToolCall[] } {
  const text = template.trimReply ? raw.trim() : raw;
  if (template.toolCalls !== 'react') return { text, toolCalls: [] };
  const actionAt = actionLabel(text);
  if (actionAt < 0) return { text: withoutThoughtLabel(text).trim(), toolCalls: [] };
  const inputAt = text.indexOf('Action Input:', actionAt);
  const name = text.slice(actionAt + 'Action:'.length, inputAt < 0 ? undefined : inputAt).trim();
  if (name === '') return { text: withoutThoughtLabel(text).trim(), toolCalls: [] };
  const args = inputAt < 0 ? '{}' : text.slice(inputAt + 'Action Input:'.length).trim();
  const id = `call_${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
  return {
    text: withoutThoughtLabel(text.slice(0, actionAt)).trim(),
    toolCalls: [{ id, name, arguments: args === '' ? '{}' : args }],
  };
}
