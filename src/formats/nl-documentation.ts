/**
 * ToolAlpaca's natural-language documentation of an OpenAPI spec: the `NLDocumentation` text, the
 * per-function `Function_Description` map and the `Function_Projection` map (function → [path, method]),
 * rendered byte for byte as ToolAlpaca's `tool_maker/natural_language_documentation.py` renders them.
 * The rules are written out in docs/nl-documentation.md.
 *
 * Where the Python script would crash on a malformed spec (a missing `responses`, a non-string
 * description...), this module carries on with the obvious empty value instead.
 */
import { InputError } from '../core/errors.js';
import {
  parsePythonJson,
  pythonKeys,
  pythonStr,
  pythonStrAt,
  recordPythonKeyOrder,
  setOwn,
} from './python-json.js';
import { isRecord } from '../core/json-text.js';

export interface NlDocumentation {
  NLDocumentation: string;
  Function_Description: Record<string, string>;
  Function_Projection: Record<string, [string, string]>;
}

/**
 * How `$ref`s are rendered.
 * - `as-published` (default): as in ToolAlpaca's released data, whose generator expanded a `$ref` that is
 *   an object property's schema and a `$ref` that is a whole request-body schema; a response schema's or
 *   an array item's `$ref` stays a `#Name` reference to the component listed at the end.
 * - `as-script`: as the script in ToolAlpaca's repository does today, which never expands a `$ref`
 *   (a request body that is a `$ref` renders as `Parameters: {#Name}`).
 */
export type RefRendering = 'as-published' | 'as-script';

export interface NlDocumentationOptions {
  refs?: RefRendering;
}

/** Longest chain of nested `$ref` expansions; deeper references stay `#Name`. */
export const MAX_REF_EXPANSION_DEPTH = 16;
/**
 * Most `$ref` expansions while rendering one top-level schema (a parameter, a request body, a response,
 * a component), so that wide reference graphs cannot blow up the output; further references stay `#Name`.
 */
export const MAX_REF_EXPANSIONS = 200;
/** Most `$ref` expansions in one document, bounding the total output whatever the number of schemas. */
export const MAX_DOCUMENT_REF_EXPANSIONS = 10_000;
/** Deepest schema nesting rendered; deeper (or cyclic in-memory) schemas render as "...". */
export const MAX_SCHEMA_DEPTH = 256;
const TRUNCATED = '...';

const HTTP_METHODS = new Set(['get', 'post', 'put', 'delete', 'patch', 'head', 'options', 'trace']);

type Json = Record<string, unknown>;

function has(obj: Json, key: string): boolean {
  return Object.hasOwn(obj, key);
}

/** Python's `str.isspace()` set, which differs from JS `\s` (no U+FEFF; adds U+001C–U+001F, U+0085). */
const PY_SPACE =
  '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

/** Python's `str.strip()` with no argument. */
export function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.includes(text[start] as string)) start++;
  while (end > start && PY_SPACE.includes(text[end - 1] as string)) end--;
  return text.slice(start, end);
}

/** Python truthiness of a JSON value. */
function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (typeof value === 'number' && Number.isNaN(value)) return true;
  if (Array.isArray(value)) return value.length > 0;
  if (isRecord(value)) return Object.keys(value).length > 0;
  return true;
}

/** Blank → "", otherwise the text with a full stop appended unless (stripped) it ends with one. */
function withFullStop(desc: unknown): string {
  if (typeof desc !== 'string') return '';
  const stripped = pythonStrip(desc);
  if (stripped === '') return '';
  return stripped.endsWith('.') ? desc : `${desc}.`;
}

/** `#/components/schemas/Pet` → `#Pet` (any other reference is shown as written). */
function refLabel(schema: Json): string {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return pythonStr(ref);
  return ref.split('/components/schemas/').join('');
}

function decodePointerSegment(segment: string): string {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // keep the raw segment
  }
  return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
}

function escapePointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The value a local reference (`#/a/b`) points at, or undefined. */
function lookupPointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const pointer = ref.slice(1);
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = decodePointerSegment(raw);
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) return undefined;
      node = node[Number(segment)];
    } else if (isRecord(node) && has(node, segment)) {
      node = node[segment];
    } else {
      return undefined;
    }
  }
  return node;
}

interface Context {
  root: Json;
  expandRefs: boolean;
  /** References being expanded right now (cycle guard). */
  refStack: string[];
  /** Schema objects being rendered right now (guard against cyclic in-memory objects). */
  schemaStack: object[];
  expansions: number;
  documentExpansions: number;
}

/**
 * Follows `schema`'s `$ref` chain as far as allowed. Returns the schema reached (still a `$ref` when a
 * reference could not or may not be expanded) and how many references were pushed on the stack.
 */
function expandRef(schema: unknown, ctx: Context): { schema: unknown; pushed: number } {
  let current = schema;
  let pushed = 0;
  while (ctx.expandRefs && isRecord(current) && typeof current.$ref === 'string') {
    const ref = current.$ref;
    if (
      ctx.refStack.includes(ref) ||
      ctx.refStack.length >= MAX_REF_EXPANSION_DEPTH ||
      ctx.expansions >= MAX_REF_EXPANSIONS ||
      ctx.documentExpansions >= MAX_DOCUMENT_REF_EXPANSIONS
    ) {
      break;
    }
    const target = lookupPointer(ctx.root, ref);
    if (target === undefined) break;
    ctx.refStack.push(ref);
    ctx.expansions++;
    ctx.documentExpansions++;
    pushed++;
    current = target;
  }
  return { schema: current, pushed };
}

function popRefs(ctx: Context, count: number): void {
  ctx.refStack.length -= count;
}

/**
 * One schema as text. `brief` leaves out types and descriptions of simple values (used for output
 * structures and components); `inArray` renders a simple item as its bare type.
 */
function describeSchema(
  input: unknown,
  brief: boolean,
  inArray: boolean,
  ctx: Context,
  depth: number,
): string {
  if (depth > MAX_SCHEMA_DEPTH) return TRUNCATED;
  if (isRecord(input) && ctx.schemaStack.includes(input)) return TRUNCATED;
  const schema: Json = isRecord(input) ? input : {};
  ctx.schemaStack.push(schema);
  try {
    return describeSchemaBody(schema, brief, inArray, ctx, depth);
  } finally {
    ctx.schemaStack.pop();
  }
}

function describeSchemaBody(
  schema: Json,
  brief: boolean,
  inArray: boolean,
  ctx: Context,
  depth: number,
): string {
  const oneOf = schema.oneOf;
  if (has(schema, 'oneOf') && Array.isArray(oneOf) && Object.keys(schema).length === 1) {
    return oneOf.map((alt) => describeSchema(alt, brief, inArray, ctx, depth + 1)).join(' OR ');
  }
  if (has(schema, '$ref')) return refLabel(schema);

  const type = has(schema, 'type') ? schema.type : '';
  if (type === 'array') {
    const items = has(schema, 'items') ? schema.items : {};
    const item = describeSchema(items, brief, true, ctx, depth + 1);
    return brief ? `Array[${item}]` : `Array[${item}]. ${withFullStop(schema.description)}`;
  }
  if (type === 'object') {
    let text = 'Object';
    if (has(schema, 'properties')) {
      const properties = isRecord(schema.properties) ? schema.properties : {};
      const parts = pythonKeys(properties).map((name) => {
        const rendered = describeProperty(properties[name], brief, ctx, depth + 1);
        return rendered === '' ? name : `${name}: ${rendered}`;
      });
      text += `{${parts.join(', ')}}`;
    }
    return brief ? text : `${text}. ${withFullStop(schema.description)}`;
  }
  if (inArray) return has(schema, 'type') ? pythonStrAt(schema, 'type') : '';
  if (brief) return '';
  const typeText = !has(schema, 'type') || type === '' ? '' : `${pythonStrAt(schema, 'type')}.`;
  let enumHint = '';
  if (has(schema, 'enum')) {
    const values = enumValues(schema.enum);
    if (values !== undefined) enumHint = `One of: [${values.join(', ')}].`;
  }
  const desc = withFullStop(schema.description);
  return pythonStrip([typeText, desc, enumHint].filter((part) => part !== '').join(' '));
}

/** `str(i) for i in enum`, iterating the way Python would (a string yields its characters). */
function enumValues(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map((_, index) => pythonStrAt(value, String(index)));
  if (typeof value === 'string') return Array.from(value);
  if (isRecord(value)) return pythonKeys(value);
  return undefined;
}

/** An object property's schema; with `as-published` a property that is a `$ref` is expanded in place. */
function describeProperty(schema: unknown, brief: boolean, ctx: Context, depth: number): string {
  const { schema: expanded, pushed } = expandRef(schema, ctx);
  try {
    return describeSchema(expanded, brief, false, ctx, depth);
  } finally {
    popRefs(ctx, pushed);
  }
}

interface InputParam {
  description?: string;
  required?: unknown;
}

interface FunctionDoc {
  name: string;
  key: string;
  summary: string;
  inputs: Map<string, InputParam>;
  outputDescription: string;
  contentType: string;
  structure: string;
}

/** The dict key Python's json.dump writes for an operationId of any JSON type. */
function jsonKeyOf(container: Json, key: string): string {
  const value = container[key];
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return pythonStrAt(container, key);
}

function firstKey(obj: unknown): string | undefined {
  return isRecord(obj) ? pythonKeys(obj)[0] : undefined;
}

function collectInputs(operation: Json, pathParams: unknown[], ctx: Context): Map<string, InputParam> {
  const inputs = new Map<string, InputParam>();
  const opParams = Array.isArray(operation.parameters) ? operation.parameters : [];
  for (const parameter of [...opParams, ...pathParams]) {
    if (!isRecord(parameter) || !has(parameter, 'name')) continue;
    const name = pythonStrAt(parameter, 'name');
    const schema = has(parameter, 'schema') ? parameter.schema : {};
    ctx.expansions = 0;
    inputs.set(name, {
      description: `${describeSchema(schema, false, false, ctx, 0)} ${withFullStop(parameter.description)}`,
      required: parameter.required,
    });
  }

  const body = operation.requestBody;
  if (!has(operation, 'requestBody') || !isRecord(body) || !has(body, 'content')) return inputs;
  const contentType = firstKey(body.content);
  if (contentType === undefined) return inputs;
  const media = (body.content as Json)[contentType];
  if (!isRecord(media) || !has(media, 'schema')) return inputs;
  ctx.expansions = 0;
  const { schema: bodySchema, pushed } = expandRef(media.schema, ctx);
  try {
    const schema: Json = isRecord(bodySchema) ? bodySchema : {};
    if (has(schema, '$ref')) inputs.set('$ref', { description: refLabel(schema), required: null });
    const properties = isRecord(schema.properties) ? schema.properties : {};
    for (const name of pythonKeys(properties)) {
      inputs.set(name, { description: describeProperty(properties[name], false, ctx, 0) });
    }
    if (Array.isArray(schema.required)) {
      for (const required of schema.required) {
        const entry = typeof required === 'string' ? inputs.get(required) : undefined;
        if (entry !== undefined) entry.required = true;
      }
    }
  } finally {
    popRefs(ctx, pushed);
  }
  return inputs;
}

function describeFunctions(ctx: Context, projection: Map<string, [string, string]>): FunctionDoc[] {
  const docs: FunctionDoc[] = [];
  const paths = isRecord(ctx.root.paths) ? ctx.root.paths : {};
  for (const path of pythonKeys(paths)) {
    const pathItem = paths[path];
    if (!isRecord(pathItem)) continue;
    const pathParams = Array.isArray(pathItem.parameters) ? pathItem.parameters : [];
    for (const method of pythonKeys(pathItem)) {
      const operation = pathItem[method];
      if (!HTTP_METHODS.has(method)) continue;
      const op: Json = isRecord(operation) ? operation : {};
      const pathCode = `${path.slice(1).split('/').join('_').split('{').join('').split('}').join('')}_${method}`;
      const hasId = has(op, 'operationId');
      const name = hasId ? pythonStrAt(op, 'operationId') : pathCode;
      const key = hasId ? jsonKeyOf(op, 'operationId') : pathCode;
      projection.set(key, [path, method]);

      let summary = '';
      if (has(op, 'summary')) summary = pythonStrAt(op, 'summary');
      else if (has(op, 'description')) summary = pythonStrAt(op, 'description');

      const inputs = collectInputs(op, pathParams, ctx);

      const responses = isRecord(op.responses) ? op.responses : {};
      const success = pythonKeys(responses).find((code) => code.startsWith('2'));
      let outputDescription = '';
      let contentType = '';
      let structure = '';
      if (success !== undefined) {
        const response = isRecord(responses[success]) ? (responses[success] as Json) : {};
        outputDescription = withFullStop(response.description);
        if (has(response, 'content')) {
          const first = firstKey(response.content);
          if (first !== undefined) {
            contentType = first;
            const media = (response.content as Json)[first];
            if (isRecord(media) && has(media, 'schema')) {
              ctx.expansions = 0;
              structure = describeSchema(media.schema, true, false, ctx, 0);
            }
          }
        }
      }
      docs.push({ name, key, summary, inputs, outputDescription, contentType, structure });
    }
  }
  return docs;
}

function renderFunction(doc: FunctionDoc): string {
  const params: string[] = [];
  for (const [name, param] of doc.inputs) {
    if (name === '$ref') {
      params.push(param.description ?? '');
      continue;
    }
    const required = truthy(param.required) ? 'Required. ' : '';
    params.push(`"${name}": "${required}${param.description ?? ''}"`);
  }
  return (
    `${doc.summary}\n` +
    `Parameters: {${params.join(', ')}}\n` +
    `Output: ${doc.outputDescription}\n - Format: ${doc.contentType}\n - Structure: ${doc.structure}\n`
  );
}

function renderComponents(ctx: Context): string {
  const components = isRecord(ctx.root.components) ? ctx.root.components : {};
  const schemas = isRecord(components.schemas) ? components.schemas : {};
  const names = pythonKeys(schemas);
  if (names.length === 0) return '';
  let text = '\nThe detailed output format for the tools is outlined below:\n';
  for (const name of names) {
    ctx.refStack.push(`#/components/schemas/${escapePointerSegment(name)}`);
    ctx.expansions = 0;
    try {
      text += `#${name}: ${describeSchema(schemas[name], true, false, ctx, 0)}\n`;
    } finally {
      ctx.refStack.pop();
    }
  }
  return text;
}

function toRecord<T>(entries: Map<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of entries) setOwn(out, key, value);
  recordPythonKeyOrder(out, [...entries.keys()]);
  return out;
}

/**
 * Derives `NLDocumentation`, `Function_Description` and `Function_Projection` from a parsed OpenAPI
 * document (`$ref`s not resolved). For exact key order with integer-like keys (response codes such as
 * "201" before "200") and exact number spelling, parse with `parsePythonJson` or call
 * `deriveNlDocumentationFromText`.
 */
export function deriveNlDocumentation(
  spec: Record<string, unknown>,
  options: NlDocumentationOptions = {},
): NlDocumentation {
  const ctx: Context = {
    root: isRecord(spec) ? spec : {},
    expandRefs: (options.refs ?? 'as-published') === 'as-published',
    refStack: [],
    schemaStack: [],
    expansions: 0,
    documentExpansions: 0,
  };
  const projection = new Map<string, [string, string]>();
  const descriptions = new Map<string, string>();
  let text = '';
  for (const doc of describeFunctions(ctx, projection)) {
    const rendered = renderFunction(doc);
    text += `${doc.name}: ${rendered}`;
    descriptions.set(doc.key, pythonStrip(rendered));
  }
  const components = renderComponents(ctx);
  text += components;
  descriptions.set('components', pythonStrip(components));
  return {
    NLDocumentation: text,
    Function_Description: toRecord(descriptions),
    Function_Projection: toRecord(projection),
  };
}

/**
 * Same as `deriveNlDocumentation` for a record's `Documentation` string, parsed as Python would parse
 * it (key order and number spelling kept). Throws an InputError naming `label` if the text is not JSON
 * or not a JSON object.
 */
export function deriveNlDocumentationFromText(
  documentation: string,
  options: NlDocumentationOptions & { label?: string } = {},
): NlDocumentation {
  const label = options.label ?? 'Documentation';
  const spec = parsePythonJson(documentation, label);
  if (!isRecord(spec)) throw new InputError(`${label}: expected a JSON object (an OpenAPI document)`);
  return deriveNlDocumentation(spec, options);
}
