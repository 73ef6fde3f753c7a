/**
 * A StableToolBench ToolEval evaluator folder (`toolbench/tooleval/evaluators/NAME/`): `config.yaml`
 * (the registered evaluator class, the completion settings — model, sampling, the judge functions with
 * their JSON parameters) and the prompt template it names (`<function><name>…</name><description>…
 * </description></function>` blocks, one per judge function, or `<message><role>…</role><content>…
 * </content></message>` blocks), read as StableToolBench's evaluator classes read them. Nothing of the
 * folder is copied into this project: the texts are read at run time from the folder given
 * (`eval tooleval --evaluator DIR`) or fetched (`datasets fetch stabletoolbench-evaluators`).
 */
import { access, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError, messageOf, oneLine } from '../../core/errors.js';
import { isRecord } from '../../core/json-text.js';
import type { JsonSchema } from '../../core/tool.js';
import { defaultDatasetDir } from '../../datasets/catalog.js';
import { pythonStr } from '../../formats/python-json.js';

/** Which of StableToolBench's evaluator classes the folder registers, by what it can judge. */
export type EvaluatorKind = 'reinforce' | 'normalized' | 'preference-messages';

const KIND_OF_CLASS: Record<string, EvaluatorKind> = {
  ReinforceToolLearningEvaluator: 'reinforce',
  OpenAINormalizedEvaluator: 'normalized',
  OpenAIEvaluator: 'preference-messages',
};

/** A judge function as the config declares it. */
export interface EvaluatorFunction {
  name: string;
  description?: string;
  parameters: JsonSchema & { properties?: Record<string, JsonSchema>; required?: string[] };
}

export interface EvaluatorFolder {
  dir: string;
  /** `evaluator_name` (else the folder name). */
  name: string;
  /** `registered_cls_name`. */
  registeredClass: string;
  kind: EvaluatorKind;
  /** `completions_kwargs.model`. */
  model: string;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  /** `completions_kwargs.function_call.name`, when the config forces one function for every call. */
  forcedFunction?: string;
  functions: Map<string, EvaluatorFunction>;
  /** `<function>` blocks: the description template of each function, by name. */
  functionTemplates: Map<string, string>;
  /** `<message>` blocks, in order. */
  messages: { role: string; content: string }[];
  /** Settings the folder has that a request here does not carry (`timeout`: the model layer's applies). */
  ignored: string[];
}

/** The default folder: StableToolBench's default evaluator as `datasets fetch` puts it. */
export const DEFAULT_EVALUATOR = 'tooleval_gpt-3.5-turbo_default';

/** The fetched default evaluator folder, when it is there. */
export async function fetchedDefaultEvaluator(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const dir = join(defaultDatasetDir('stabletoolbench-evaluators', env), DEFAULT_EVALUATOR);
  try {
    await access(join(dir, 'config.yaml'));
    return dir;
  } catch {
    return undefined;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(oneLine(`${path}: cannot read the evaluator folder (${messageOf(error)})`));
  }
}

function all(pattern: RegExp, text: string): string[] {
  return [...text.matchAll(pattern)].map((m) => m[1] ?? '');
}

/** The first capture of `tag` in `block` (StableToolBench: `re.findall(...)[0]`, DOTALL). */
function first(tag: string, block: string, where: string): string {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(block);
  if (match === null) throw new InputError(`${where}: a block without <${tag}>`);
  return match[1] ?? '';
}

function numberSetting(kwargs: Record<string, unknown>, key: string, where: string): number | undefined {
  const value = kwargs[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InputError(`${where}: completions_kwargs.${key} must be a number`);
  return value;
}

const SUPPORTED_KWARGS = new Set([
  'model',
  'temperature',
  'max_tokens',
  'top_p',
  'stop',
  'timeout',
  'functions',
  'function_call',
]);

/** `config.yaml` parsed: a mapping, else one InputError naming the file. */
async function readConfig(configPath: string): Promise<Record<string, unknown>> {
  let config: unknown;
  try {
    config = parseYaml(await readText(configPath));
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(oneLine(`${configPath}: not valid YAML (${messageOf(error)})`));
  }
  if (!isRecord(config)) throw new InputError(`${configPath}: not a mapping`);
  return config;
}

/** `registered_cls_name` and the kind of evaluator it is; one of the classes this project reads. */
function registeredKind(
  config: Record<string, unknown>,
  configPath: string,
): { registeredClass: string; kind: EvaluatorKind } {
  const registeredClass = typeof config.registered_cls_name === 'string' ? config.registered_cls_name : '';
  const kind = KIND_OF_CLASS[registeredClass];
  if (kind === undefined)
    throw new InputError(
      `${configPath}: registered_cls_name "${registeredClass}" is not one of ${Object.keys(KIND_OF_CLASS).join(', ')}`,
    );
  return { registeredClass, kind };
}

/** The prompt template `prompt_template` names, read from the folder. */
async function readTemplate(
  dir: string,
  config: Record<string, unknown>,
  configPath: string,
): Promise<{ templatePath: string; template: string }> {
  const templateName = typeof config.prompt_template === 'string' ? config.prompt_template : '';
  if (templateName === '') throw new InputError(`${configPath}: no prompt_template`);
  const templatePath = join(dir, templateName);
  return { templatePath, template: await readText(templatePath) };
}

/** `completions_kwargs`: present, only settings a request here carries, with a model. */
function completionKwargs(
  config: Record<string, unknown>,
  configPath: string,
): { kwargs: Record<string, unknown>; model: string } {
  const kwargs = isRecord(config.completions_kwargs) ? config.completions_kwargs : undefined;
  if (kwargs === undefined) throw new InputError(`${configPath}: no completions_kwargs`);
  const unsupported = Object.keys(kwargs).filter((key) => !SUPPORTED_KWARGS.has(key));
  if (unsupported.length > 0)
    throw new InputError(`${configPath}: completions_kwargs ${unsupported.join(', ')} not supported here`);
  const model = typeof kwargs.model === 'string' ? kwargs.model : '';
  if (model === '') throw new InputError(`${configPath}: completions_kwargs.model is missing`);
  return { kwargs, model };
}

/** `completions_kwargs.functions` by name; each needs a name and parameters. */
function judgeFunctions(kwargs: Record<string, unknown>, configPath: string): Map<string, EvaluatorFunction> {
  const functions = new Map<string, EvaluatorFunction>();
  for (const entry of Array.isArray(kwargs.functions) ? kwargs.functions : []) {
    if (!isRecord(entry) || typeof entry.name !== 'string' || !isRecord(entry.parameters))
      throw new InputError(`${configPath}: a function without a name or parameters`);
    functions.set(entry.name, {
      name: entry.name,
      ...(typeof entry.description === 'string' ? { description: entry.description } : {}),
      parameters: entry.parameters as EvaluatorFunction['parameters'],
    });
  }
  return functions;
}

/** The template's `<function>` blocks by name and its `<message>` blocks in order. */
function templateBlocks(
  template: string,
  templatePath: string,
): Pick<EvaluatorFolder, 'functionTemplates' | 'messages'> {
  const functionTemplates = new Map<string, string>();
  for (const block of all(/<function>([\s\S]*?)<\/function>/g, template)) {
    functionTemplates.set(first('name', block, templatePath), first('description', block, templatePath));
  }
  const messages = all(/<message>([\s\S]*?)<\/message>/g, template).map((block) => ({
    role: first('role', block, templatePath),
    content: first('content', block, templatePath),
  }));
  return { functionTemplates, messages };
}

/** The sampling settings of `completions_kwargs` (temperature, max_tokens, top_p, stop), onto `evaluator`. */
function setSampling(evaluator: EvaluatorFolder, kwargs: Record<string, unknown>, configPath: string): void {
  const temperature = numberSetting(kwargs, 'temperature', configPath);
  const maxTokens = numberSetting(kwargs, 'max_tokens', configPath);
  const topP = numberSetting(kwargs, 'top_p', configPath);
  if (temperature !== undefined) evaluator.temperature = temperature;
  if (maxTokens !== undefined) evaluator.maxTokens = maxTokens;
  if (topP !== undefined) evaluator.topP = topP;
  const stop = kwargs.stop;
  if (typeof stop === 'string') evaluator.stop = [stop];
  else if (Array.isArray(stop)) evaluator.stop = stop.map(String);
}

/** The judge functions each class calls. */
const NEEDED_FUNCTIONS: Record<EvaluatorKind, string[]> = {
  reinforce: ['check_answer_status', 'parse_answer_status', 'check_task_solvable', 'select_better_answer'],
  normalized: ['parse_answer_details', 'select_best_final_answer', 'check_solve_query'],
  'preference-messages': [],
};

/** What the evaluator's class calls must be there, with its template. */
function checkEvaluator(evaluator: EvaluatorFolder, configPath: string, templatePath: string): void {
  const { functions, functionTemplates, messages, forcedFunction } = evaluator;
  for (const name of NEEDED_FUNCTIONS[evaluator.kind]) {
    if (!functions.has(name))
      throw new InputError(`${configPath}: no function ${name} in completions_kwargs`);
    if (!functionTemplates.has(name))
      throw new InputError(`${templatePath}: no <function> block for ${name}`);
  }
  if (evaluator.kind === 'preference-messages') {
    if (forcedFunction === undefined || !functions.has(forcedFunction))
      throw new InputError(`${configPath}: completions_kwargs.function_call must name one of its functions`);
    if (!messages.some((m) => m.role === 'user'))
      throw new InputError(`${templatePath}: no <message> with role user`);
  }
}

/** Reads and checks an evaluator folder; every problem is one InputError naming the file. */
export async function readEvaluatorFolder(folder: string): Promise<EvaluatorFolder> {
  const dir = resolve(folder);
  const configPath = join(dir, 'config.yaml');
  const config = await readConfig(configPath);
  const { registeredClass, kind } = registeredKind(config, configPath);
  const { templatePath, template } = await readTemplate(dir, config, configPath);
  const { kwargs, model } = completionKwargs(config, configPath);
  const functions = judgeFunctions(kwargs, configPath);
  const blocks = templateBlocks(template, templatePath);
  const forced =
    isRecord(kwargs.function_call) && typeof kwargs.function_call.name === 'string'
      ? kwargs.function_call.name
      : undefined;
  const evaluator: EvaluatorFolder = {
    dir,
    name: typeof config.evaluator_name === 'string' ? config.evaluator_name : basename(dir),
    registeredClass,
    kind,
    model,
    functions,
    ...blocks,
    ignored: 'timeout' in kwargs ? ['timeout'] : [],
    ...(forced !== undefined ? { forcedFunction: forced } : {}),
  };
  setSampling(evaluator, kwargs, configPath);
  checkEvaluator(evaluator, configPath, templatePath);
  return evaluator;
}

/** True when the evaluator can judge pass rate (StableToolBench's ReinforceToolLearningEvaluator). */
export function judgesPassRate(evaluator: EvaluatorFolder): boolean {
  return evaluator.kind === 'reinforce';
}

/**
 * Python's `str.format(**fields)` for named fields: `{name}` → the value (`str()` of non-strings, so a
 * list prints as Python prints it), `{{`/`}}` → literal braces. A field without a value is an error,
 * as Python's KeyError.
 */
export function pythonFormat(template: string, fields: Record<string, unknown>, where: string): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const char = template[i] as string;
    if (char === '{' && template[i + 1] === '{') {
      out += '{';
      i++;
    } else if (char === '}' && template[i + 1] === '}') {
      out += '}';
      i++;
    } else if (char === '{') {
      const end = template.indexOf('}', i);
      const field = end < 0 ? '' : template.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field))
        throw new InputError(`${where}: the template field "{${field}" is not a plain name`);
      if (!(field in fields)) throw new InputError(`${where}: the template's {${field}} has no value here`);
      const value = fields[field];
      out += typeof value === 'string' ? value : pythonStr(value);
      i = end;
    } else if (char === '}') {
      throw new InputError(`${where}: a single "}" in the template`);
    } else {
      out += char;
    }
  }
  return out;
}
