/**
 * Redaction of secrets from what the real executor returns or logs: every form a secret may take on the
 * wire (raw, URL-encoded, form-encoded, base64, JSON-escaped), and the parts of composite secrets: the
 * password of a Basic `user:password` (alone, and in every form above) and the token of a `Scheme token`
 * header value. Parts shorter than 4 characters (passwords) or 8 (tokens) are not redacted on their own.
 */
import { isRecord } from '../core/json-text.js';
import type { ToolSecret } from './secrets.js';

const REDACTED = '***';

function encodings(value: string): string[] {
  return [
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64').replace(/=+$/, ''),
    Buffer.from(value).toString('base64url'),
    JSON.stringify(value).slice(1, -1),
  ];
}

/** The parts of a composite secret worth redacting on their own. */
function parts(value: string): string[] {
  const out: string[] = [];
  const colon = value.indexOf(':');
  if (colon >= 0 && value.length - colon - 1 >= 4) out.push(value.slice(colon + 1));
  const words = value.trim().split(/\s+/);
  if (words.length > 1) for (const word of words.slice(1)) if (word.length >= 8) out.push(word);
  return out;
}

/** Every form a secret may take on the wire, longest first. */
export function secretForms(secret: ToolSecret | undefined): string[] {
  if (!secret) return [];
  const values = [
    secret.apiKey,
    secret.bearer,
    ...Object.values(secret.headers ?? {}),
    ...Object.values(secret.query ?? {}),
  ].filter((v): v is string => typeof v === 'string' && v !== '');
  const forms = new Set<string>();
  for (const value of values) {
    for (const form of encodings(value)) forms.add(form);
    for (const part of parts(value)) for (const form of encodings(part)) forms.add(form);
  }
  return [...forms].filter((f) => f !== '').sort((a, b) => b.length - a.length);
}

/** A function that replaces every form of the given secret with `***` in text. */
export function makeRedactor(secret: ToolSecret | undefined): (text: string) => string {
  const forms = secretForms(secret);
  if (forms.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  };
}

/** A JSON value with every string (keys included) redacted. */
export function redactValue(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[redact(key)] = redactValue(item, redact);
    return out;
  }
  return value;
}
