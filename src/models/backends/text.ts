/**
 * `text:MODEL`: a checkpoint without a chat template on an OpenAI-compatible completions endpoint,
 * through a conversation template (`--template`). The server (base URL, key, headers) comes from the
 * `openai` option group, as for `openai:`.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../../core/errors.js';
import { canonicalJson } from '../cache.js';
import type { ChatModel } from '../chat-model.js';
import type { OpenAIBackendOptions, TextBackendOptions } from '../options.js';
import type { ModelBackend } from '../registry.js';
import type { TemplateTexts } from '../text-completions/render.js';
import { fastChatSystemMessage, readSource, toolBenchSystemTexts } from '../text-completions/sources.js';
import {
  BUILTIN_TEMPLATE_NAMES,
  loadTemplate,
  type ConversationTemplate,
} from '../text-completions/templates.js';
import { createTextCompletionModel } from '../text-completions/text-model.js';
import { parseServerModelName } from './openai.js';

export interface TextModelSpec {
  backend: 'text';
  model: string;
}

/** Reads the texts `template` takes from `source` (the original file), failing early when it is needed. */
async function templateTexts(
  template: ConversationTemplate,
  source: string | undefined,
): Promise<TemplateTexts> {
  const texts: TemplateTexts = {};
  if (template.defaultSystem !== undefined && 'text' in template.defaultSystem) {
    texts.defaultSystem = template.defaultSystem.text;
  }
  const fastchat =
    template.defaultSystem !== undefined && 'fastchat' in template.defaultSystem
      ? template.defaultSystem.fastchat
      : undefined;
  if (template.functionsInSystem === 'toolbench' && fastchat !== undefined) {
    throw new InputError(
      `template ${template.name}: reads texts from two original files; one template source file (\`templateSource\`) is supported`,
      { details: { reason: 'template-two-sources', template: template.name } },
    );
  }
  if (template.functionsInSystem === 'toolbench') {
    if (source === undefined) {
      throw new InputError(
        `the ${template.name} template reads the texts ToolBench adds to ToolLLaMA's system message from ToolBench's toolbench/utils.py: give that file as \`templateSource\``,
        { details: { reason: 'template-needs-toolbench-utils', template: template.name } },
      );
    }
    texts.toolbench = toolBenchSystemTexts(await readSource(source, "ToolBench's utils"), source);
  } else if (fastchat !== undefined && source !== undefined) {
    texts.defaultSystem = fastChatSystemMessage(
      await readSource(source, "FastChat's conversation module"),
      fastchat,
      source,
    );
  }
  return texts;
}

type TextChatModel = ChatModel & { readonly templateId: string };

export const textBackend: ModelBackend<TextModelSpec, TextBackendOptions> = {
  prefix: 'text',
  syntax: ['text:MODEL'],
  kind: 'remote',
  parse: (rest) => ({ backend: 'text', model: parseServerModelName(rest) }),
  format: (spec) => `text:${spec.model}`,
  async create(spec, { options, common, optionsOf }): Promise<ChatModel> {
    if (options.template === undefined) {
      throw new InputError(
        `text:${spec.model} needs a conversation template (\`template\`): ${BUILTIN_TEMPLATE_NAMES.join('|')} or a JSON template file`,
        {
          details: {
            reason: 'text-needs-template',
            model: spec.model,
            builtins: [...BUILTIN_TEMPLATE_NAMES],
          },
        },
      );
    }
    const template = await loadTemplate(options.template);
    const texts = await templateTexts(template, options.templateSource);
    const server = optionsOf('openai') as OpenAIBackendOptions;
    const model = createTextCompletionModel({
      model: spec.model,
      template,
      texts,
      ...(server.baseUrl !== undefined ? { baseUrl: server.baseUrl } : {}),
      ...(server.apiKey !== undefined ? { apiKey: server.apiKey } : {}),
      ...(server.headers !== undefined ? { headers: server.headers } : {}),
      ...(common.maxReplyBytes !== undefined ? { maxReplyBytes: common.maxReplyBytes } : {}),
    });
    // The prompt depends on the template and the texts read for it: both are part of the cache identity.
    const digest = createHash('sha256').update(canonicalJson({ template, texts })).digest('hex').slice(0, 16);
    return Object.assign(model, { templateId: `${template.name}:${digest}` }) satisfies TextChatModel;
  },
  cacheIdentity(model) {
    const templateId = (model as Partial<TextChatModel>).templateId ?? '';
    return Promise.resolve(`${model.endpoint ?? model.id}#template=${templateId}`);
  },
};
