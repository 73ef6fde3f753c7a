/**
 * Token-level loss masks: render a conversation once with a model's chat template (@huggingface/jinja),
 * find each assistant turn's text in that one rendering (rendering prefixes and diffing fails on real
 * templates: Qwen3 renders the last assistant turn differently), tokenise it (@huggingface/tokenizers),
 * map the character spans to tokens, and set labels to -100 outside them. Every example is checked:
 * decoding the ids gives back the rendered text, and each trained span decodes to exactly the assistant
 * text (plus the end-of-turn token, which is trained so that the model learns to stop).
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import type { ChatTurn } from './layout.js';

export const IGNORE_INDEX = -100;

export interface HfTokenizer {
  dir: string;
  tokenizer: Tokenizer;
  config: Record<string, unknown>;
  /** Ids of added tokens marked special (end-of-turn markers and the like). */
  specialIds: ReadonlySet<number>;
  bosToken: string;
  eosToken: string;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${messageOf(error)}`);
  }
  try {
    const data: unknown = JSON.parse(text);
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new Error('not a JSON object');
    return data as Record<string, unknown>;
  } catch (error) {
    throw new InputError(`${path}: not a JSON object (${messageOf(error)})`);
  }
}

/** A token given in tokenizer_config.json as a string or as `{content: ...}`. */
function tokenText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { content?: unknown }).content === 'string'
  ) {
    return (value as { content: string }).content;
  }
  return '';
}

const loadedTokenizers = new Map<string, Promise<HfTokenizer>>();

/**
 * Loads `tokenizer.json` + `tokenizer_config.json` from a Hugging Face model folder. Building a tokenizer
 * takes seconds, so each folder is loaded once per process.
 */
export function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const key = resolve(dir);
  let pending = loadedTokenizers.get(key);
  if (pending === undefined) {
    pending = readHfTokenizer(dir);
    loadedTokenizers.set(key, pending);
    pending.catch(() => loadedTokenizers.delete(key));
  }
  return pending;
}

async function readHfTokenizer(dir: string): Promise<HfTokenizer> {
  const tokenizerJson = await readJson(join(dir, 'tokenizer.json'));
  const config = await readJson(join(dir, 'tokenizer_config.json'));
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, config);
  } catch (error) {
    throw new InputError(`${join(dir, 'tokenizer.json')}: cannot build the tokenizer (${messageOf(error)})`);
  }
  const specialIds = new Set<number>();
  for (const [id, token] of tokenizer.get_added_tokens_decoder()) if (token.special) specialIds.add(id);
  return {
    dir,
    tokenizer,
    config,
    specialIds,
    bosToken: tokenText(config.bos_token),
    eosToken: tokenText(config.eos_token),
  };
}

/**
 * The chat template called `name`: `default` is the tokenizer's own `chat_template` (or its entry named
 * `default` when the config holds several); another name picks a named template from the config; a path
 * to an existing file is read as a Jinja template.
 */
export async function resolveChatTemplate(tok: HfTokenizer, name: string): Promise<string> {
  const raw = tok.config.chat_template;
  const named = new Map<string, string>();
  if (typeof raw === 'string') named.set('default', raw);
  else if (Array.isArray(raw)) {
    for (const entry of raw as unknown[]) {
      const e = entry as { name?: unknown; template?: unknown };
      if (typeof e.name === 'string' && typeof e.template === 'string') named.set(e.name, e.template);
    }
  }
  const found = named.get(name);
  if (found !== undefined) return found;
  const isFile = await stat(name).then(
    (s) => s.isFile(),
    () => false,
  );
  if (isFile) return readFile(name, 'utf8');
  const known = [...named.keys()];
  throw new InputError(
    `chat template '${name}' is neither a template of ${join(tok.dir, 'tokenizer_config.json')} (${known.length > 0 ? known.join(', ') : 'it has none'}) nor a file`,
  );
}

// Parsed templates by their text: an export renders every example twice with the same template, and
// parsing costs about a tenth of masking an example. `render` builds a fresh environment per call.
const parsedTemplates = new Map<string, Template>();

/** Renders the conversation with the template, without a generation prompt. */
export function renderChat(template: string, turns: readonly ChatTurn[], tok: HfTokenizer): string {
  try {
    let parsed = parsedTemplates.get(template);
    if (parsed === undefined) {
      parsed = new Template(template);
      parsedTemplates.set(template, parsed);
    }
    return parsed.render({
      messages: turns.map((t) => ({ role: t.role, content: t.content })),
      bos_token: tok.bosToken,
      eos_token: tok.eosToken,
      add_generation_prompt: false,
    });
  } catch (error) {
    throw new InputError(`chat template failed to render: ${oneLine(messageOf(error), 200)}`);
  }
}

export interface CharSpan {
  start: number;
  end: number;
}

/**
 * Character spans of the assistant turns, by text search in one rendering: every turn's text is searched
 * in order, each from the end of the previous match, never inside a special token (`_` must not match
 * in `<|im_end|>`). A template may trim a message; the trimmed text is tried second. Non-assistant turns
 * a template rewrites are skipped; an assistant turn that cannot be found is an error.
 */
export function locateAssistantSpans(
  rendered: string,
  turns: readonly ChatTurn[],
  reserved: readonly string[] = [],
): CharSpan[] {
  const blocked: CharSpan[] = [];
  for (const token of reserved) {
    if (token === '') continue;
    for (let at = rendered.indexOf(token); at >= 0; at = rendered.indexOf(token, at + token.length)) {
      blocked.push({ start: at, end: at + token.length });
    }
  }
  const clear = (start: number, end: number): boolean =>
    blocked.every((b) => end <= b.start || start >= b.end);
  const spans: CharSpan[] = [];
  let cursor = 0;
  turns.forEach((turn, index) => {
    const candidates =
      turn.content === turn.content.trim() ? [turn.content] : [turn.content, turn.content.trim()];
    let found: CharSpan | undefined;
    for (const text of candidates) {
      if (text === '') continue;
      for (let at = rendered.indexOf(text, cursor); at >= 0; at = rendered.indexOf(text, at + 1)) {
        if (clear(at, at + text.length)) {
          found = { start: at, end: at + text.length };
          break;
        }
      }
      if (found !== undefined) break;
    }
    if (found === undefined) {
      if (turn.role === 'assistant') {
        throw new Error(`assistant turn ${index} not found in the rendered conversation`);
      }
      return;
    }
    cursor = found.end;
    if (turn.role === 'assistant') spans.push(found);
  });
  return spans;
}

/** A placeholder no real message contains: private-use brackets around the turn number. */
function placeholder(index: number): string {
  return `\uE000${index}\uE001`;
}

/**
 * Character spans of the assistant turns, located by the template's own structure: the conversation is
 * also rendered with each message replaced by a unique placeholder, which gives the exact template text
 * between messages; walking the real rendering with those pieces puts every message at its place, so a
 * short assistant text can never match inside template markup. When a template renders a message in a
 * way that depends on its text (the walk does not line up), the text search above is used instead.
 */
export function assistantSpans(
  template: string,
  turns: readonly ChatTurn[],
  tok: HfTokenizer,
  rendered: string,
): CharSpan[] {
  const reserved = [...tok.tokenizer.get_added_tokens_decoder().values()]
    .filter((t) => t.special)
    .map((t) => t.content);
  let skeleton: string | undefined;
  try {
    skeleton = renderChat(
      template,
      turns.map((t, i) => ({ role: t.role, content: placeholder(i) })),
      tok,
    );
  } catch {
    skeleton = undefined;
  }
  walk: if (skeleton !== undefined) {
    const spans: CharSpan[] = [];
    let sk = 0;
    let pos = 0;
    for (let i = 0; i < turns.length; i++) {
      const mark = placeholder(i);
      const at = skeleton.indexOf(mark, sk);
      if (at < 0) break walk;
      const glue = skeleton.slice(sk, at);
      if (!rendered.startsWith(glue, pos)) break walk;
      pos += glue.length;
      const content = (turns[i] as ChatTurn).content;
      const text = rendered.startsWith(content, pos) ? content : content.trim();
      if (!rendered.startsWith(text, pos)) break walk;
      if ((turns[i] as ChatTurn).role === 'assistant') spans.push({ start: pos, end: pos + text.length });
      pos += text.length;
      sk = at + mark.length;
    }
    if (rendered.slice(pos) === skeleton.slice(sk)) return spans;
  }
  return locateAssistantSpans(rendered, turns, reserved);
}

export interface MaskCheck {
  /** decode(input_ids) === rendered text. */
  decodeMatches: boolean;
  /** Every trained span decodes to its assistant text (plus the end-of-turn token when trained). */
  spansExact: boolean;
  problems: string[];
}

export interface MaskedExample {
  rendered: string;
  input_ids: number[];
  labels: number[];
  assistant_masks: (0 | 1)[];
  /** Token spans `[start, end)` trained, one per assistant turn (end-of-turn token included). */
  tokenSpans: { start: number; end: number }[];
  check: MaskCheck;
}

/** Decodes token ids exactly as written (special tokens kept, no clean-up). */
function decodeIds(tok: HfTokenizer, ids: number[]): string {
  // The tokenizer refuses an empty list; no tokens decode to no text.
  if (ids.length === 0) return '';
  return tok.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
}

/** Maps a character position of the rendered text to a token count. */
export interface TokenBoundaries {
  /** The smallest token count whose decoded prefix is at least `position` characters long. */
  countReaching(position: number): number;
}

/** Smallest index whose value in the non-decreasing `lengthOf` is at least `position`. */
function firstReaching(count: number, lengthOf: (count: number) => number, position: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lengthOf(mid) >= position) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The fast way: when the tokens decoded one by one concatenate to the rendered text (byte-level BPE on
 * text whose characters each sit in one token, which is most of it), the prefix lengths are running sums.
 * Single-token decodes are cached per id. Undefined when the pieces do not add up (a character split
 * across tokens, a decoder that strips a leading space): the caller then decodes prefixes.
 */
export function boundariesFromPieces(
  tok: HfTokenizer,
  ids: readonly number[],
  rendered: string,
  pieces: Map<number, string>,
): TokenBoundaries | undefined {
  const offsets = new Array<number>(ids.length + 1);
  offsets[0] = 0;
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    let piece = pieces.get(id);
    if (piece === undefined) {
      piece = decodeIds(tok, [id]);
      pieces.set(id, piece);
    }
    if (!rendered.startsWith(piece, at)) return undefined;
    at += piece.length;
    offsets[i + 1] = at;
  }
  if (at !== rendered.length) return undefined;
  return {
    countReaching: (position) => firstReaching(ids.length, (count) => offsets[count] as number, position),
  };
}

/**
 * The exact way for any decoder: decoded prefix length grows with the token count, so a binary search
 * over decoded prefixes finds the first token count whose decoding reaches a position.
 */
export function boundariesByPrefixDecoding(tok: HfTokenizer, ids: readonly number[]): TokenBoundaries {
  const lengths = new Map<number, number>();
  const lengthOf = (count: number): number => {
    let n = lengths.get(count);
    if (n === undefined) {
      n = decodeIds(tok, ids.slice(0, count)).length;
      lengths.set(count, n);
    }
    return n;
  };
  return { countReaching: (position) => firstReaching(ids.length, lengthOf, position) };
}

// Single-token decodes per tokenizer, for boundariesFromPieces.
const piecesByTokenizer = new WeakMap<HfTokenizer, Map<number, string>>();

/**
 * Tokenises a rendered conversation and masks everything outside the given character spans. The
 * end-of-turn special token right after each assistant turn is trained too.
 */
export function maskRendered(tok: HfTokenizer, rendered: string, spans: readonly CharSpan[]): MaskedExample {
  // The template already wrote BOS and the special markers: nothing may be added around them.
  const ids = tok.tokenizer.encode(rendered, { add_special_tokens: false }).ids;
  let pieces = piecesByTokenizer.get(tok);
  if (pieces === undefined) {
    pieces = new Map();
    piecesByTokenizer.set(tok, pieces);
  }
  const boundaries = boundariesFromPieces(tok, ids, rendered, pieces) ?? boundariesByPrefixDecoding(tok, ids);
  const problems: string[] = [];
  const decodeMatches = decodeIds(tok, ids) === rendered;
  if (!decodeMatches) problems.push('decoding the ids does not give back the rendered text');
  const labels = ids.map(() => IGNORE_INDEX);
  const masks: (0 | 1)[] = ids.map(() => 0);
  const tokenSpans: { start: number; end: number }[] = [];
  let spansExact = true;
  for (const span of spans) {
    // A token across the start boundary holds template text: it stays masked (countReaching skips it).
    const first = boundaries.countReaching(span.start);
    const endCount = boundaries.countReaching(span.end);
    let last = endCount;
    const expected = rendered.slice(span.start, span.end);
    const decoded = decodeIds(tok, ids.slice(first, endCount));
    if (decoded !== expected) {
      spansExact = false;
      problems.push(
        `span at characters ${span.start}-${span.end} decodes to ${JSON.stringify(oneLine(decoded, 60))}`,
      );
    }
    const next = ids[endCount];
    if (next !== undefined && tok.specialIds.has(next)) {
      last = endCount + 1;
    }
    for (let i = first; i < last; i++) {
      labels[i] = ids[i] as number;
      masks[i] = 1;
    }
    tokenSpans.push({ start: first, end: last });
  }
  return {
    rendered,
    input_ids: ids,
    labels,
    assistant_masks: masks,
    tokenSpans,
    check: { decodeMatches, spansExact, problems },
  };
}

/** Renders, locates and masks one conversation. */
export function maskConversation(
  tok: HfTokenizer,
  template: string,
  turns: readonly ChatTurn[],
): MaskedExample {
  const rendered = renderChat(template, turns, tok);
  const spans = assistantSpans(template, turns, tok, rendered);
  return maskRendered(tok, rendered, spans);
}
