/**
 * Reads back the judge prompt ToolAlpaca's `evaluation.py` wrote into each judged item
 * (`input[0].content`): the NL documentation, the instruction, the standard answer
 * (`N. Function: …\nParameters: …`) and the assistant's solution
 * (`N. Function: …\nParameters: …\nRetruns: …` per call, then `N. Final Response: …`).
 */
import type { GoldenAnswerStep, RunStep } from '../../core/run.js';

export interface JudgePromptParts {
  documentation: string;
  instruction: string;
  goldenAnswers: GoldenAnswerStep[];
  steps: RunStep[];
  /** The solution's final response (absent when the prompt has none). */
  finalAnswer?: string;
}

const DOCUMENTATION = '## Documentation\n';
const INSTRUCTION = '\n\n## Task Instruction\n';
const STANDARD = '\n\n## Standard Answer\n';
const SOLUTION = "\n\n## AI Assistant's Solution\n";
const ANALYSIS = '\n\n## Analysis';

/** Splits a judge prompt into its parts; throws an Error naming the missing part when it is not one. */
export function parseJudgePrompt(content: string): JudgePromptParts {
  const at = (marker: string, from: number): number => {
    const index = content.indexOf(marker, from);
    if (index < 0) throw new Error(`not a ToolAlpaca judge prompt: no "${marker.trim()}" section`);
    return index;
  };
  const doc = at(DOCUMENTATION, 0);
  const instr = at(INSTRUCTION, doc);
  const std = at(STANDARD, instr);
  const sol = at(SOLUTION, std);
  let end = content.lastIndexOf(ANALYSIS);
  if (end < sol) end = content.length;
  const documentation = content.slice(doc + DOCUMENTATION.length, instr);
  const instruction = content.slice(instr + INSTRUCTION.length, std);
  const standardText = content.slice(std + STANDARD.length, sol);
  const solutionText = content.slice(sol + SOLUTION.length, end);
  const { steps, finalAnswer } = parseSolution(solutionText);
  return {
    documentation,
    instruction,
    goldenAnswers: parseStandard(standardText),
    steps,
    ...(finalAnswer === undefined ? {} : { finalAnswer }),
  };
}

/** Position of `N. <label>: ` at the start of a line, at or after `from`. */
function headerAt(
  text: string,
  n: number,
  label: string,
  from: number,
): { start: number; end: number } | undefined {
  const header = `${n}. ${label}: `;
  let index = text.indexOf(header, from);
  while (index >= 0) {
    if (index === 0 || text[index - 1] === '\n') return { start: index, end: index + header.length };
    index = text.indexOf(header, index + 1);
  }
  return undefined;
}

/** `evaluation.py` writes `N. Function: A\nParameters: P\n` per step (P is the Action_Input text). */
export function parseStandard(text: string): GoldenAnswerStep[] {
  const steps: GoldenAnswerStep[] = [];
  let pos = 0;
  for (let n = 1; ; n++) {
    const head = headerAt(text, n, 'Function', pos);
    if (head === undefined) break;
    const params = text.indexOf('\nParameters: ', head.end);
    if (params < 0) break;
    const next = headerAt(text, n + 1, 'Function', params);
    const inputEnd = next === undefined ? text.length : next.start;
    steps.push({
      Action: text.slice(head.end, params),
      Action_Input: text.slice(params + '\nParameters: '.length, inputEnd).replace(/\n+$/, ''),
    });
    pos = inputEnd;
  }
  return steps;
}

/**
 * `N. Function: A\nParameters: P\nRetruns: O\n` per call (sic: ToolAlpaca spells it "Retruns"), then
 * `N. Final Response: R`.
 */
export function parseSolution(text: string): { steps: RunStep[]; finalAnswer?: string } {
  const steps: RunStep[] = [];
  let pos = 0;
  for (let n = 1; ; n++) {
    const final = headerAt(text, n, 'Final Response', pos);
    const head = headerAt(text, n, 'Function', pos);
    if (head === undefined || (final !== undefined && final.start < head.start)) {
      if (final === undefined) return { steps };
      return { steps, finalAnswer: text.slice(final.end).replace(/\n+$/, '') };
    }
    const params = text.indexOf('\nParameters: ', head.end);
    const returns = params < 0 ? -1 : text.indexOf('\nRetruns: ', params);
    if (params < 0 || returns < 0) return { steps };
    const obsStart = returns + '\nRetruns: '.length;
    const nextCall = headerAt(text, n + 1, 'Function', obsStart);
    const nextFinal = headerAt(text, n + 1, 'Final Response', obsStart);
    const ends = [nextCall?.start, nextFinal?.start].filter((x): x is number => x !== undefined);
    const obsEnd = ends.length > 0 ? Math.min(...ends) : text.length;
    steps.push({
      action: text.slice(head.end, params),
      actionInput: text.slice(params + '\nParameters: '.length, returns),
      observation: text.slice(obsStart, obsEnd).replace(/\n$/, ''),
    });
    pos = obsEnd;
  }
}
