/**
 * Library errors as the command line says them. The library names its options in its own terms
 * (`cacheDir`, `templateSource`) and carries a reason with the facts (`ToolalpacaError.details`); here
 * each reason a flag resolves is worded again with the flag's name, so a user sees one line naming
 * what to type. Errors without a known reason keep their message.
 */
import { messageOf, ToolalpacaError, type ErrorDetails } from '../core/errors.js';

/** The ledger's note for models without a price, with the flag that adds one. */
export const ADD_PRICE_HINT = 'add it with --prices FILE';

type Wording = (facts: (key: string) => string, details: ErrorDetails) => string;

const TRAIN_LAYOUT_HINT: Record<string, (dataDir: string, layout: string) => string> = {
  llamafactory: (dataDir, layout) =>
    `${dataDir}: LLaMA-Factory reads dataset_info.json; export with --format llamafactory (this export is ${layout})`,
  trl: (dataDir, layout) =>
    `${dataDir}: TRL reads chat messages (export --format openai) or token files (export with --template and --tokenizer); this export is ${layout} without tokens`,
  axolotl: (dataDir, layout) =>
    `${dataDir}: axolotl reads chat messages (export --format openai or sharegpt) or token files (export with --template and --tokenizer); this export is ${layout} without tokens`,
};

const WORDINGS: Record<string, Wording> = {
  // datasets fetch
  'checksum-mismatch': (f) =>
    `${f('file')} from ${f('source')}: checksum ${f('found')}… does not match the expected ${f('expected')}… (use --no-verify to accept it)`,
  'download-unreachable': (f) =>
    `cannot download ${f('file')}: ${f('host')} is unreachable (${f('code')}); offline? copy the file from a mirror with --from DIR`,
  // models
  'no-replay-cache': (f) =>
    `${f('model')}: no response cache in ${f('cacheDir')}; replay answers only from a cache recorded by an earlier run (set --cache-dir)`,
  'text-needs-template': (f, d) =>
    `text:${f('model')} needs a conversation template: --template ${(d.builtins as string[]).join('|')} or a JSON template file`,
  'template-two-sources': (f) =>
    `template ${f('template')}: reads texts from two original files; one --template-source is supported`,
  'template-needs-toolbench-utils': (f) =>
    `the ${f('template')} template reads the texts ToolBench adds to ToolLLaMA's system message from ToolBench's toolbench/utils.py: give that file with --template-source FILE`,
  'template-needs-fastchat-source': (f) =>
    `the conversation has no system message and the ${f('template')} template's default is read from FastChat's conversation.py: give it with --template-source FILE`,
  'template-needs-toolbench-prompt': () =>
    "the system message lacks the sentence ToolBench's process_system_message expects: give ToolBench's system prompt (solve --prompt-set toolbench)",
  'template-no-tool-calls': (f) =>
    `the ${f('template')} template has no tool-call format: call this model with tools in the prompt text (e.g. --mode react), not as functions`,
  'endpoint-unreachable': (f) =>
    `model server ${f('endpoint')} is unreachable (${f('code')}): is it running? check --base-url or OPENAI_BASE_URL`,
  'no-openai-api': (f) =>
    `no OpenAI-compatible API at ${f('endpoint')} (HTTP 404 on ${f('tried')}): check --base-url (it usually ends in /v1)`,
  'connection-refused': (f) =>
    `cannot reach ${f('endpoint')} (${f('code')}): is the server running? set --base-url or OPENAI_BASE_URL`,
  'no-lora-file': (f) => `--lora ${f('path')}: no such LoRA adapter file`,
  // solve
  'toolbench-prompts-missing': (f) =>
    `${f('path')}: ${f('what')} not found; run \`toolalpaca datasets fetch toolbench-prompts\` (or give the folder with --toolbench-prompts DIR)`,
  // runs, toolset, report, train
  'output-is-folder': (f) => `${f('out')}: is a folder; --out needs a file path`,
  'output-is-file': (f) => `${f('out')}: is a file; --out needs a folder`,
  'unknown-category': (f) => `--category: no category "${f('category')}" in the catalogue`,
  'unknown-report-format': (f, d) =>
    `--format: unknown format "${f('format')}"; expected one of: ${(d.known as string[]).join(', ')}`,
  'view-url-not-url': (f) => `--view-url: not a URL: "${f('value')}"`,
  'view-url-not-http': (f) => `--view-url: expected an http:// URL (toolalpaca view), got "${f('value')}"`,
  'engine-needs-layout': (f) => TRAIN_LAYOUT_HINT[f('engine')]?.(f('dataDir'), f('layout')) ?? '',
};

/** The line the CLI prints for `error`: its reason worded with flag names, else its own message. */
export function cliMessageOf(error: unknown): string {
  if (error instanceof ToolalpacaError && error.details !== undefined) {
    const details = error.details;
    const worded = WORDINGS[details.reason]?.((key) => String(details[key]), details);
    if (worded !== undefined && worded !== '') return worded;
  }
  return messageOf(error);
}

/** The reasons worded here (a test checks each has a library message that raises it). */
export const WORDED_REASONS: readonly string[] = Object.keys(WORDINGS);
