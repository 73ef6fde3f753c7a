/**
 * Writes a tiny random-weight llama model in GGUF v3 so that the real llama.cpp path (load, tokenize,
 * chat wrapper, sampling, grammar, function calling) runs offline in tests. Output is gibberish: tests on
 * it assert plumbing, never meaning. Format facts: /work/shared/notes/tiny-gguf.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { seededRandom } from '../../src/core/random.js';

export interface TinyGgufOptions {
  /** Seed of the weights; the same seed gives the same bytes. Default 1. */
  seed?: number;
  /** 'chatml' embeds a ChatML Jinja template (node-llama-cpp then picks its ChatML wrapper). Default 'chatml'. */
  chatTemplate?: 'chatml' | 'none';
  /** Training context length written to the metadata. Default 4096. */
  contextLength?: number;
}

/** Dimensions of the tiny model (embedding 64 = 4 heads of 16, feed-forward 128, 2 layers). */
const EMBED = 64;
const HEADS = 4;
const HEAD_DIM = EMBED / HEADS;
const HEADS_KV = 4;
const FF = 128;
const LAYERS = 2;
const ALIGN = 32;

const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A few SentencePiece merges; every prefix path exists so the SPM tokenizer can reach them. */
const MERGES = [
  '▁t',
  'he',
  '▁the',
  '▁a',
  'in',
  '▁in',
  'er',
  'on',
  '▁o',
  '▁of',
  'an',
  'nd',
  '▁and',
  '{"',
  '":',
  '",',
];

interface Vocab {
  tokens: string[];
  types: number[];
  scores: number[];
  bos: number;
  eos: number;
  unk: number;
}

function buildVocab(chatml: boolean): Vocab {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL];
  const scores: number[] = [0, 0, 0];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_BYTE);
    scores.push(0);
  }
  const singles = ['▁'];
  for (let c = 0x21; c <= 0x7e; c++) singles.push(String.fromCharCode(c));
  for (const piece of singles) {
    tokens.push(piece);
    types.push(TOKEN_NORMAL);
    scores.push(-1000);
  }
  MERGES.forEach((piece, i) => {
    tokens.push(piece);
    types.push(TOKEN_NORMAL);
    scores.push(-10 - i);
  });
  let eos = 2;
  if (chatml) {
    tokens.push('<|im_start|>', '<|im_end|>');
    types.push(TOKEN_CONTROL, TOKEN_CONTROL);
    scores.push(0, 0);
    eos = tokens.length - 1;
  }
  return { tokens, types, scores, bos: 1, eos, unk: 0 };
}

// GGUF metadata value types.
const T_U32 = 4;
const T_I32 = 5;
const T_F32 = 6;
const T_BOOL = 7;
const T_STRING = 8;
const T_ARRAY = 9;

type MetaValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] }
  | { type: 'i32s'; value: number[] }
  | { type: 'f32s'; value: number[] };

/** Growable little-endian byte writer. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: number): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  pad(align: number): void {
    while (this.length % align !== 0) this.u8(0);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeMeta(w: ByteWriter, key: string, v: MetaValue): void {
  w.str(key);
  switch (v.type) {
    case 'u32':
      w.u32(T_U32);
      w.u32(v.value);
      break;
    case 'f32':
      w.u32(T_F32);
      w.f32(v.value);
      break;
    case 'bool':
      w.u32(T_BOOL);
      w.u8(v.value ? 1 : 0);
      break;
    case 'string':
      w.u32(T_STRING);
      w.str(v.value);
      break;
    case 'strings':
      w.u32(T_ARRAY);
      w.u32(T_STRING);
      w.u64(v.value.length);
      for (const s of v.value) w.str(s);
      break;
    case 'i32s':
      w.u32(T_ARRAY);
      w.u32(T_I32);
      w.u64(v.value.length);
      for (const n of v.value) w.i32(n);
      break;
    case 'f32s':
      w.u32(T_ARRAY);
      w.u32(T_F32);
      w.u64(v.value.length);
      for (const n of v.value) w.f32(n);
      break;
  }
}

interface TensorSpec {
  name: string;
  /** ggml order: first dim first (row length first). */
  dims: number[];
  /** 'one' for norm weights, 'random' for small seeded values. */
  init: 'one' | 'random';
  /** Multiplier of the random values (default 1). */
  scale?: number;
}

function tensorSpecs(nVocab: number): TensorSpec[] {
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [EMBED, nVocab], init: 'random' },
    { name: 'output_norm.weight', dims: [EMBED], init: 'one' },
    { name: 'output.weight', dims: [EMBED, nVocab], init: 'random' },
  ];
  for (let i = 0; i < LAYERS; i++) {
    specs.push(
      { name: `blk.${i}.attn_norm.weight`, dims: [EMBED], init: 'one' },
      { name: `blk.${i}.attn_q.weight`, dims: [EMBED, EMBED], init: 'random' },
      { name: `blk.${i}.attn_k.weight`, dims: [EMBED, HEAD_DIM * HEADS_KV], init: 'random' },
      { name: `blk.${i}.attn_v.weight`, dims: [EMBED, HEAD_DIM * HEADS_KV], init: 'random' },
      { name: `blk.${i}.attn_output.weight`, dims: [EMBED, EMBED], init: 'random' },
      { name: `blk.${i}.ffn_norm.weight`, dims: [EMBED], init: 'one' },
      { name: `blk.${i}.ffn_gate.weight`, dims: [EMBED, FF], init: 'random' },
      { name: `blk.${i}.ffn_up.weight`, dims: [EMBED, FF], init: 'random' },
      { name: `blk.${i}.ffn_down.weight`, dims: [FF, EMBED], init: 'random' },
    );
  }
  return specs;
}

/** The GGUF bytes of the tiny model (deterministic for given options). */
export function tinyGgufBytes(options: TinyGgufOptions = {}): Buffer {
  const seed = options.seed ?? 1;
  const chatml = (options.chatTemplate ?? 'chatml') === 'chatml';
  const vocab = buildVocab(chatml);
  const nVocab = vocab.tokens.length;

  const meta: [string, MetaValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: `tiny-random-llama-${seed}` }],
    ['general.alignment', { type: 'u32', value: ALIGN }],
    ['general.file_type', { type: 'u32', value: 0 }], // all F32
    ['llama.context_length', { type: 'u32', value: options.contextLength ?? 4096 }],
    ['llama.embedding_length', { type: 'u32', value: EMBED }],
    ['llama.block_count', { type: 'u32', value: LAYERS }],
    // Leaving out feed_forward_length or head_count aborts the whole process in llama.cpp.
    ['llama.feed_forward_length', { type: 'u32', value: FF }],
    ['llama.attention.head_count', { type: 'u32', value: HEADS }],
    ['llama.attention.head_count_kv', { type: 'u32', value: HEADS_KV }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.rope.dimension_count', { type: 'u32', value: HEAD_DIM }],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['llama.vocab_size', { type: 'u32', value: nVocab }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32s', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: vocab.types }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: vocab.bos }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: vocab.eos }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: vocab.unk }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
  ];
  if (chatml) meta.push(['tokenizer.chat_template', { type: 'string', value: CHATML_TEMPLATE }]);

  return ggufBytes(meta, tensorSpecs(nVocab), seed);
}

/** Serialises metadata and F32 tensors (seeded values) as GGUF v3. */
function ggufBytes(meta: [string, MetaValue][], tensors: TensorSpec[], seed: number): Buffer {
  const sizes = tensors.map((t) => t.dims.reduce((a, b) => a * b, 1) * 4);
  const offsets: number[] = [];
  let dataSize = 0;
  for (const size of sizes) {
    offsets.push(dataSize);
    dataSize += Math.ceil(size / ALIGN) * ALIGN;
  }

  const w = new ByteWriter();
  w.u8(0x47); // "GGUF"
  w.u8(0x47);
  w.u8(0x55);
  w.u8(0x46);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.length);
  for (const [key, value] of meta) writeMeta(w, key, value);
  tensors.forEach((t, i) => {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(0); // F32
    w.u64(offsets[i] ?? 0);
  });
  w.pad(ALIGN);

  const header = w.bytes();
  const data = Buffer.alloc(dataSize);
  const next = seededRandom(seed);
  tensors.forEach((t, i) => {
    const start = offsets[i] ?? 0;
    const count = (sizes[i] ?? 0) / 4;
    // Scale like a normal init so activations stay in range through the layers.
    const scale = 1 / Math.sqrt(t.dims[0] ?? 1);
    for (let k = 0; k < count; k++) {
      const value = t.init === 'one' ? 1 : (next() * 2 - 1) * scale * (t.scale ?? 1);
      data.writeFloatLE(value, start + k * 4);
    }
  });
  return Buffer.concat([header, data]);
}

/** Write the tiny model to `path` (parent folders are created). */
export async function writeTinyGguf(path: string, options: TinyGgufOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, tinyGgufBytes(options));
}

export interface TinyLoraOptions {
  seed?: number;
  /** Rank of the adapter. Default 4. */
  rank?: number;
  /** Which projections get an adapter. Default the attention q and v projections. */
  targets?: ('attn_q' | 'attn_k' | 'attn_v' | 'attn_output')[];
}

/** A random LoRA adapter (GGUF, general.type "adapter") that fits the tiny model. */
export function tinyLoraBytes(options: TinyLoraOptions = {}): Buffer {
  const rank = options.rank ?? 4;
  const outDims: Record<string, number> = {
    attn_q: EMBED,
    attn_k: HEAD_DIM * HEADS_KV,
    attn_v: HEAD_DIM * HEADS_KV,
    attn_output: EMBED,
  };
  const meta: [string, MetaValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['general.alignment', { type: 'u32', value: ALIGN }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['adapter.lora.alpha', { type: 'f32', value: rank }],
  ];
  const tensors: TensorSpec[] = [];
  for (let i = 0; i < LAYERS; i++) {
    for (const target of options.targets ?? ['attn_q', 'attn_v']) {
      // llama.cpp expects A as [n_in, rank] and B as [rank, n_out] (ggml order).
      tensors.push(
        { name: `blk.${i}.${target}.weight.lora_a`, dims: [EMBED, rank], init: 'random' },
        {
          name: `blk.${i}.${target}.weight.lora_b`,
          dims: [rank, outDims[target] ?? EMBED],
          init: 'random',
          scale: 4,
        },
      );
    }
  }
  return ggufBytes(meta, tensors, options.seed ?? 1);
}

/** Write a tiny LoRA adapter to `path` (parent folders are created). */
export async function writeTinyLora(path: string, options: TinyLoraOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, tinyLoraBytes(options));
}
