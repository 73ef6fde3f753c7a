/** The backends every installation has, in the order help lists them. */
import type { ModelBackend } from '../registry.js';
import { llamaBackend } from './llama.js';
import { openaiBackend } from './openai.js';
import { replayBackend } from './replay.js';
import { textBackend } from './text.js';

export const BUILTIN_BACKENDS: readonly ModelBackend[] = [
  openaiBackend as unknown as ModelBackend,
  textBackend as unknown as ModelBackend,
  llamaBackend as unknown as ModelBackend,
  replayBackend as unknown as ModelBackend,
];
