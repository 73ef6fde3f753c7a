/**
 * Which examples go into an export, and where: completed only (optionally verified only), duplicates
 * removed, and a train / validation split by tool so that validation tools are never seen in training
 * (the paper evaluates on unseen tools).
 */
import { createHash } from 'node:crypto';
import type { SftExample } from './example.js';

export interface FilterOptions {
  /** Keep only examples a verification stage marked correct. */
  onlyVerified?: boolean;
  /** Drop repeated (tools, instruction) pairs, keeping the first (default true). */
  dedupe?: boolean;
}

export interface FilterCounts {
  read: number;
  failed: number;
  unverified: number;
  duplicates: number;
  kept: number;
}

/** Same tools and same instruction up to case and spacing. */
export function dedupeKey(example: SftExample): string {
  const instruction = example.instruction.toLowerCase().replace(/\s+/g, ' ').trim();
  return `${[...example.tools].sort().join('+')}\u0000${instruction}`;
}

export function filterExamples(
  examples: readonly SftExample[],
  options: FilterOptions = {},
): { kept: SftExample[]; counts: FilterCounts } {
  const counts: FilterCounts = { read: examples.length, failed: 0, unverified: 0, duplicates: 0, kept: 0 };
  const seen = new Set<string>();
  const kept: SftExample[] = [];
  for (const example of examples) {
    if (!example.completed) {
      counts.failed++;
      continue;
    }
    if (options.onlyVerified === true && !example.verified) {
      counts.unverified++;
      continue;
    }
    if (options.dedupe !== false) {
      const key = dedupeKey(example);
      if (seen.has(key)) {
        counts.duplicates++;
        continue;
      }
      seen.add(key);
    }
    kept.push(example);
  }
  counts.kept = kept.length;
  return { kept, counts };
}

export interface SplitOptions {
  /** Share of tools held out for validation (0 disables the split). */
  validationRatio: number;
  /** Tools held out, instead of a drawn share. */
  validationTools?: readonly string[];
  /** Seed of the draw (default `toolalpaca`): the same seed and tools give the same split. */
  seed?: string;
}

export interface Split {
  train: SftExample[];
  validation: SftExample[];
  validationTools: string[];
  /** Examples using both a train and a validation tool: dropped, else validation tools would be seen. */
  mixed: number;
}

function rank(seed: string, tool: string): string {
  return createHash('sha256').update(`${seed}\u0000${tool}`).digest('hex');
}

export function splitByTool(examples: readonly SftExample[], options: SplitOptions): Split {
  const tools = [...new Set(examples.flatMap((e) => e.tools))].sort();
  let held: Set<string>;
  if (options.validationTools !== undefined && options.validationTools.length > 0) {
    held = new Set(options.validationTools);
  } else if (options.validationRatio > 0 && tools.length > 1) {
    const seed = options.seed ?? 'toolalpaca';
    const count = Math.min(tools.length - 1, Math.max(1, Math.round(tools.length * options.validationRatio)));
    held = new Set([...tools].sort((a, b) => rank(seed, a).localeCompare(rank(seed, b))).slice(0, count));
  } else {
    held = new Set();
  }
  const split: Split = { train: [], validation: [], validationTools: [...held].sort(), mixed: 0 };
  for (const example of examples) {
    const inHeld = example.tools.filter((t) => held.has(t)).length;
    if (inHeld === 0) split.train.push(example);
    else if (inHeld === example.tools.length) split.validation.push(example);
    else split.mixed++;
  }
  return split;
}
