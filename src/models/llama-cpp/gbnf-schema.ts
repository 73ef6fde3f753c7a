/**
 * Turns an arbitrary JSON Schema into the subset node-llama-cpp can compile to a GBNF grammar
 * (no anyOf/allOf, no pattern, no numeric bounds, only `#/$defs` refs, every property emitted).
 * The result only steers generation: the reply is always re-validated against the original schema,
 * so a simplification may be looser (or, for deep recursion, stricter) than the original.
 */
import type { GbnfJsonSchema } from 'node-llama-cpp';
import type { JsonSchema } from '../../core/tool.js';
import { isRecord } from '../../core/json-text.js';

type Schema = Record<string, unknown>;

/** How many times one `$ref` may be expanded inside itself before recursion is cut off. */
const MAX_REF_DEPTH = 3;
const GRAMMAR_FORMATS = new Set(['date-time', 'date', 'time']);
const SCALAR_TYPES = ['string', 'number', 'integer', 'boolean', 'null'] as const;

const SCALARS: Schema = { type: ['string', 'number', 'boolean', 'null'] };
/** GBNF has no "any value" schema (`{}` means null there): scalars, free objects or arrays of scalars. */
const ANY: Schema = {
  oneOf: [SCALARS, { type: 'object', additionalProperties: true }, { type: 'array', items: SCALARS }],
};

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Resolves a local JSON pointer (`#/components/schemas/X`, `#/$defs/X`, `#/definitions/X`). */
function resolvePointer(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref
    .slice(1)
    .split('/')
    .filter((p) => p !== '')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isRecord(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return isRecord(node) ? node : undefined;
}

/** Shallow merge of allOf parts (properties and required are unioned). */
function mergeAllOf(parts: Schema[]): Schema {
  const merged: Schema = {};
  const properties: Schema = {};
  const required = new Set<string>();
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      if (key === 'properties' && isRecord(value)) Object.assign(properties, value);
      else if (key === 'required' && Array.isArray(value)) value.forEach((r) => required.add(String(r)));
      else merged[key] = value;
    }
  }
  if (Object.keys(properties).length > 0) {
    merged.properties = properties;
    merged.type ??= 'object';
  }
  if (required.size > 0) merged.required = [...required];
  return merged;
}

class Simplifier {
  private readonly refDepth = new Map<string, number>();

  constructor(private readonly root: Schema) {}

  convert(input: unknown): Schema {
    if (input === true || input === undefined) return ANY;
    if (!isRecord(input)) return ANY;
    let schema = input;

    if (typeof schema.$ref === 'string') {
      const ref = schema.$ref;
      const target = resolvePointer(this.root, ref);
      if (target === undefined) return ANY;
      const depth = this.refDepth.get(ref) ?? 0;
      // Every property is emitted by the grammar, so recursion must stop somewhere; null is the
      // cheapest leaf (the re-validation reports it if the schema does not allow it).
      if (depth >= MAX_REF_DEPTH) return { type: 'null' };
      this.refDepth.set(ref, depth + 1);
      try {
        return this.convert(target);
      } finally {
        this.refDepth.set(ref, depth);
      }
    }

    if (Array.isArray(schema.allOf)) {
      const parts = schema.allOf.map((part) => this.deref(part));
      const { allOf: _allOf, ...rest } = schema;
      schema = mergeAllOf([rest, ...parts]);
    }

    const alternatives = Array.isArray(schema.oneOf)
      ? schema.oneOf
      : Array.isArray(schema.anyOf)
        ? schema.anyOf
        : null;
    if (alternatives !== null) {
      const { oneOf: _oneOf, anyOf: _anyOf, ...rest } = schema;
      const base = Object.keys(rest).filter((k) => k !== 'description').length > 0 ? rest : undefined;
      const options = alternatives.map((alt) =>
        this.convert(base === undefined ? alt : mergeAllOf([base, this.deref(alt)])),
      );
      return options.length === 1 ? (options[0] ?? ANY) : { oneOf: options };
    }

    if ('const' in schema) return isPrimitive(schema.const) ? { const: schema.const } : ANY;
    if (Array.isArray(schema.enum)) {
      const values = schema.enum.filter(isPrimitive);
      if (values.length === schema.enum.length && values.length > 0) {
        return { enum: schema.nullable === true && !values.includes(null) ? [...values, null] : values };
      }
      return ANY;
    }

    let types: string[];
    if (Array.isArray(schema.type)) types = schema.type.map(String);
    else if (typeof schema.type === 'string') types = [schema.type];
    else if (isRecord(schema.properties) || 'additionalProperties' in schema) types = ['object'];
    else if ('items' in schema || 'prefixItems' in schema) types = ['array'];
    else return ANY;
    if (schema.nullable === true && !types.includes('null')) types.push('null');

    const converted = types.map((type) => this.forType(type, schema));
    if (converted.length === 1) return converted[0] ?? ANY;
    // A list of plain scalar types stays one basic schema; anything structured becomes oneOf.
    if (
      types.every((t) => (SCALAR_TYPES as readonly string[]).includes(t)) &&
      types.every((t) => t !== 'string' || !hasStringLimits(schema))
    ) {
      return { type: types };
    }
    return { oneOf: converted };
  }

  private deref(value: unknown): Schema {
    if (isRecord(value) && typeof value.$ref === 'string') {
      return resolvePointer(this.root, value.$ref) ?? {};
    }
    return isRecord(value) ? value : {};
  }

  private forType(type: string, schema: Schema): Schema {
    switch (type) {
      case 'string': {
        if (typeof schema.format === 'string' && GRAMMAR_FORMATS.has(schema.format)) {
          return { type: 'string', format: schema.format };
        }
        const out: Schema = { type: 'string' };
        if (typeof schema.minLength === 'number') out.minLength = schema.minLength;
        if (typeof schema.maxLength === 'number') out.maxLength = schema.maxLength;
        return out;
      }
      case 'number':
      case 'integer':
      case 'boolean':
      case 'null':
        return { type };
      case 'object':
        return this.objectSchema(schema);
      case 'array':
        return this.arraySchema(schema);
      default:
        return ANY;
    }
  }

  private objectSchema(schema: Schema): Schema {
    const properties = isRecord(schema.properties) ? schema.properties : undefined;
    const out: Schema = { type: 'object' };
    if (properties !== undefined) {
      out.properties = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, this.convert(v)]));
    }
    const extra = schema.additionalProperties;
    if (isRecord(extra)) out.additionalProperties = this.convert(extra);
    // With declared properties, extra keys only add noise; a free-form object must allow them.
    else out.additionalProperties = properties === undefined ? extra !== false : extra === true;
    if (typeof schema.minProperties === 'number') out.minProperties = schema.minProperties;
    if (typeof schema.maxProperties === 'number') out.maxProperties = schema.maxProperties;
    return out;
  }

  private arraySchema(schema: Schema): Schema {
    const out: Schema = { type: 'array' };
    if (Array.isArray(schema.items)) out.prefixItems = schema.items.map((item) => this.convert(item));
    else if (schema.items !== undefined) out.items = this.convert(schema.items);
    if (Array.isArray(schema.prefixItems))
      out.prefixItems = schema.prefixItems.map((item) => this.convert(item));
    if (out.items === undefined) out.items = ANY;
    if (typeof schema.minItems === 'number') out.minItems = schema.minItems;
    if (typeof schema.maxItems === 'number') out.maxItems = schema.maxItems;
    return out;
  }
}

function hasStringLimits(schema: Schema): boolean {
  return (
    typeof schema.minLength === 'number' ||
    typeof schema.maxLength === 'number' ||
    typeof schema.format === 'string'
  );
}

/** The grammar-compatible simplification of `schema` (refs inlined, unsupported keywords dropped). */
export function toGbnfJsonSchema(schema: JsonSchema): GbnfJsonSchema {
  return new Simplifier(schema).convert(schema) as GbnfJsonSchema;
}
