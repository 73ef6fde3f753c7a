/**
 * Which examples go into an export, and where: completed only, ToolAlpaca's own dataset filters, optionally
 * verified only, duplicates removed, and a train / validation split by tool so that validation tools are
 * never seen in training (the paper evaluates on unseen tools). The filter looks at one example at a time
 * and keeps a hash per kept instruction, so it runs over corpora of any size.
 */
import { createHash } from 'node:crypto';
import { GET_DETAILS } from '../agents/builtin-tools.js';
import { hashKey } from '../formats/corpus-stream.js';
import { conversationTurns, type SftExample, type SftStep } from './example.js';

export interface FilterOptions {
  /** Keep only examples a verification stage passed (`verification.passed === true`). */
  onlyVerified?: boolean;
  /** Drop repeated (tools, instruction) pairs, keeping the first (default true). */
  dedupe?: boolean;
  /**
   * ToolAlpaca's training-data filters (default true): drop instances with no step, with more than five
   * steps, or whose only action is getDetails (more than five or only getDetails in any turn of a
   * multi-turn instance). They apply to ToolAlpaca corpora, not to ToolBench answers.
   */
  toolalpacaFilters?: boolean;
}

/** Why an example was left out, in the order the filters run. */
export const DROP_REASONS = [
  'failed',
  'zeroSteps',
  'overFiveSteps',
  'onlyGetDetails',
  'unverified',
  'duplicates',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface FilterCounts extends Record<DropReason, number> {
  read: number;
  /** Of `unverified`, those no verification stage had looked at (no `verification` field). */
  neverVerified: number;
  kept: number;
}

/** ToolAlpaca keeps at most this many steps (its build_dataset.py). */
export const TOOLALPACA_MAX_STEPS = 5;

/** The ToolAlpaca filter one turn's steps fail, if any (`zeroSteps` is the caller's to excuse). */
function turnFilterReason(steps: readonly SftStep[]): DropReason | undefined {
  if (steps.length === 0) return 'zeroSteps';
  if (steps.length > TOOLALPACA_MAX_STEPS) return 'overFiveSteps';
  if (steps.every((step) => step.action === GET_DETAILS)) return 'onlyGetDetails';
  return undefined;
}

/**
 * The ToolAlpaca filter an example fails, if any, and the turn (0: the first) that fails it. Every turn
 * of a multi-turn example is checked on its own steps, as a one-turn instance is: more than five steps,
 * or only getDetails, in any turn drops the conversation. No step is a finding for the first turn only:
 * a follow-up may be answered from what earlier calls returned. The reason reported is the first in the
 * filters' order (`DROP_REASONS`) that any turn fails. An irrelevance instance (no tool serves the
 * request) has no step by design and is not dropped for it.
 */
export function toolAlpacaFilterFinding(
  example: SftExample,
): { reason: DropReason; turn: number } | undefined {
  let found: { reason: DropReason; turn: number } | undefined;
  for (const [turn, { steps }] of conversationTurns(example).entries()) {
    const reason = turnFilterReason(steps);
    if (reason === undefined) continue;
    if (reason === 'zeroSteps' && (turn > 0 || example.kind === 'irrelevance')) continue;
    if (found === undefined || DROP_REASONS.indexOf(reason) < DROP_REASONS.indexOf(found.reason))
      found = { reason, turn };
  }
  return found;
}

/** The ToolAlpaca filter an example fails, if any (every turn checked: `toolAlpacaFilterFinding`). */
export function toolAlpacaFilterReason(example: SftExample): DropReason | undefined {
  return toolAlpacaFilterFinding(example)?.reason;
}

/** Same tools and same instruction up to case and spacing. */
export function dedupeKey(example: SftExample): string {
  const instruction = example.instruction.toLowerCase().replace(/\s+/g, ' ').trim();
  return `${[...example.tools].sort().join('+')}\u0000${instruction}`;
}

/** Decides, one example at a time, what goes into an export; counts what it leaves out and why. */
export class ExampleFilter {
  readonly counts: FilterCounts = {
    read: 0,
    failed: 0,
    zeroSteps: 0,
    overFiveSteps: 0,
    onlyGetDetails: 0,
    unverified: 0,
    neverVerified: 0,
    duplicates: 0,
    kept: 0,
  };
  /** 53-bit hashes of kept dedupe keys: a few bytes per example instead of its instruction. */
  private readonly seen = new Set<number>();

  constructor(private readonly options: FilterOptions = {}) {}

  /** The reason `example` is left out, or undefined when it is kept (and then counted as seen). */
  reasonToDrop(example: SftExample): DropReason | undefined {
    if (!example.completed) return 'failed';
    if (this.options.toolalpacaFilters !== false && example.source === 'toolalpaca') {
      const reason = toolAlpacaFilterReason(example);
      if (reason !== undefined) return reason;
    }
    if (this.options.onlyVerified === true && !example.verified) return 'unverified';
    if (this.options.dedupe !== false) {
      const key = hashKey(dedupeKey(example));
      if (this.seen.has(key)) return 'duplicates';
      this.seen.add(key);
    }
    return undefined;
  }

  accept(example: SftExample): boolean {
    this.counts.read++;
    const reason = this.reasonToDrop(example);
    if (reason === undefined) {
      this.counts.kept++;
      return true;
    }
    this.counts[reason]++;
    if (reason === 'unverified' && example.verification === 'none') this.counts.neverVerified++;
    return false;
  }
}

export function filterExamples(
  examples: readonly SftExample[],
  options: FilterOptions = {},
): { kept: SftExample[]; counts: FilterCounts } {
  const filter = new ExampleFilter(options);
  const kept = examples.filter((example) => filter.accept(example));
  return { kept, counts: filter.counts };
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

/** Does the split need every tool of the kept examples first (a drawn share), or is it given? */
export function splitNeedsTools(options: SplitOptions): boolean {
  return (
    !(options.validationTools !== undefined && options.validationTools.length > 0) &&
    options.validationRatio > 0
  );
}

/** The held-out tools: the given ones, or a seeded draw of `validationRatio` of `tools` (at least one, never all). */
export function validationToolsOf(tools: Iterable<string>, options: SplitOptions): string[] {
  if (options.validationTools !== undefined && options.validationTools.length > 0)
    return [...new Set(options.validationTools)].sort();
  const all = [...new Set(tools)].sort();
  if (!(options.validationRatio > 0) || all.length <= 1) return [];
  const seed = options.seed ?? 'toolalpaca';
  const count = Math.min(all.length - 1, Math.max(1, Math.round(all.length * options.validationRatio)));
  return all
    .sort((a, b) => rank(seed, a).localeCompare(rank(seed, b)))
    .slice(0, count)
    .sort();
}

/** Where an example goes: validation only if all its tools are held out; mixed ones are dropped. */
export function sideOf(example: SftExample, held: ReadonlySet<string>): 'train' | 'validation' | 'mixed' {
  const inHeld = example.tools.filter((t) => held.has(t)).length;
  if (inHeld === 0) return 'train';
  return inHeld === example.tools.length ? 'validation' : 'mixed';
}

export function splitByTool(examples: readonly SftExample[], options: SplitOptions): Split {
  const validationTools = validationToolsOf(
    examples.flatMap((e) => e.tools),
    options,
  );
  const held = new Set(validationTools);
  const split: Split = { train: [], validation: [], validationTools, mixed: 0 };
  for (const example of examples) {
    const side = sideOf(example, held);
    if (side === 'mixed') split.mixed++;
    else split[side].push(example);
  }
  return split;
}
