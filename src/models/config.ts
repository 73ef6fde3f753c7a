/**
 * Loads `toolalpaca.config.json` from the working directory. A missing file means no defaults; a broken
 * one is a one-line InputError naming the file and the offending key. Relative paths in it are resolved
 * against the file's folder, so the config works from any cwd.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { ToolalpacaConfigSchema, type ToolalpacaConfig } from '../core/config.js';
import { closestName } from '../core/suggest.js';

export type { ToolalpacaConfig } from '../core/config.js';

export const CONFIG_FILE_NAME = 'toolalpaca.config.json';

const PATH_KEYS = ['cacheDir', 'prices', 'lora', 'modelsDir'] as const;

/** Reads `toolalpaca.config.json` in `cwd` (or the file TOOLALPACA_CONFIG names); `{}` when there is none. */
export async function loadConfig(cwd: string = process.cwd()): Promise<ToolalpacaConfig> {
  const explicit = process.env.TOOLALPACA_CONFIG;
  const file =
    explicit !== undefined && explicit !== '' ? resolve(cwd, explicit) : join(cwd, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && explicit === undefined) return {};
    throw new InputError(oneLine(`cannot read config ${file}: ${messageOf(error)}`), { cause: error });
  }
  return parseConfig(text, file);
}

/** Validates config text; `file` names the source in errors and anchors relative paths. */
export function parseConfig(text: string, file: string): ToolalpacaConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(oneLine(`config ${file} is not valid JSON: ${messageOf(error)}`), { cause: error });
  }
  if (typeof data === 'object' && data !== null && 'apiKey' in data) {
    throw new InputError(
      `config ${file}: apiKey does not belong in a config file; set OPENAI_API_KEY instead`,
    );
  }
  const parsed = ToolalpacaConfigSchema.safeParse(data);
  if (!parsed.success) {
    const unknown = parsed.error.issues.find((issue) => issue.code === 'unrecognized_keys');
    if (unknown !== undefined && unknown.code === 'unrecognized_keys') {
      const key = unknown.keys[0] ?? '';
      const suggestion = closestName(key, Object.keys(ToolalpacaConfigSchema.shape));
      throw new InputError(
        oneLine(
          `config ${file}: unknown key "${key}"${suggestion !== undefined ? `; did you mean "${suggestion}"?` : ''}`,
        ),
      );
    }
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw new InputError(oneLine(`config ${file}: ${where}${issue?.message ?? 'invalid'}`));
  }
  const config: ToolalpacaConfig = { ...parsed.data };
  const base = dirname(file);
  for (const key of PATH_KEYS) {
    const value = config[key];
    if (value !== undefined && !isAbsolute(value)) config[key] = resolve(base, value);
  }
  return config;
}
