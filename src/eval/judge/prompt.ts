/**
 * The LLM judge's prompt, following ToolAlpaca's evaluation protocol (prompts/Evaluation.txt): the judge
 * sees the tool's NL documentation, the instruction, the standard answer built from `Golden_Answers`
 * (function and parameters per step) and the assistant's solution (each call with its parameters and
 * return, then the final response), analyses it, and ends with a `## Results` block giving
 * `Process Correctness` and `Final Response Correctness`, each Yes, No or Uncertain.
 *
 * The numbered layouts of the standard answer and the solution are ToolAlpaca's, so that a judge sees the
 * same text for the same trajectory (its `Retruns:` spelling included: published judgments were made
 * with it).
 */
import type { CheckableItem, GoldenAnswerStep, RunStep } from '../../core/run.js';

/** Name and version of the template, recorded in judged files. */
export const JUDGE_PROMPT_NAME = 'toolalpaca-evaluation-v1';

/** The guidelines and output format (ToolAlpaca's protocol). */
export const JUDGE_GUIDELINES = `Given the documentation of a REST API and a task instruction, I need you to evaluate whether the solution provided by my AI assistant aligns with the standard answer.

Follow these guidelines:
1. You need to assess both the process and final response of the AI assistant's solution.
2. For the process, refer to the standard answer:
 - The standard answer only includes function names and parameters, while the AI assistant's solution also includes function returns. Therefore, it is acceptable to adjust the call situation based on the function return, such as retrying when the function errors, calling function \`getDetails\` for more information, calling function \`retrievalDataFromFile\` when function's return is too long.
 - Random calls to unrelated functions are not allowed.
 - The solution must contain all the steps in the standard answer.
 - The necessary parameters of the function need to be consistent with the standard answer. Parameters not mentioned in the instruction can be inconsistent.
3. You need to comprehensively judge whether the final response of the solution accurately summarizes the entire call process and provides a reasonable response to the initial instruction.
4. You need to first analyze the entire solution according to the guidelines, then give your answer. Your output should adhere to the format:
## Analysis
{some analysis}
## Results
Process Correctness: one of [Yes, No, Uncertain]
Final Response Correctness: one of [Yes, No, Uncertain]`;

/** `1. Function: NAME\nParameters: {...}\n` per golden step. */
export function standardAnswerText(golden: readonly GoldenAnswerStep[]): string {
  return golden
    .map((step, i) => `${i + 1}. Function: ${step.Action}\nParameters: ${step.Action_Input}\n`)
    .join('');
}

/** Each call with parameters and return, then `N. Final Response: ...`. */
export function solutionText(steps: readonly RunStep[], finalAnswer: string | undefined): string {
  const calls = steps
    .map(
      (step, i) =>
        `${i + 1}. Function: ${step.action}\nParameters: ${step.actionInput}\nRetruns: ${step.observation}\n`,
    )
    .join('');
  return `${calls}${steps.length + 1}. Final Response: ${finalAnswer ?? ''}`;
}

/** The whole user message for one item. */
export function judgePrompt(item: CheckableItem & { nlDocumentation: string }): string {
  return [
    JUDGE_GUIDELINES,
    '',
    '## Documentation',
    item.nlDocumentation,
    '',
    '## Task Instruction',
    item.instruction,
    '',
    '## Standard Answer',
    standardAnswerText(item.goldenAnswers),
    '',
    "## AI Assistant's Solution",
    solutionText(item.steps, item.finalAnswer),
    '',
    '## Analysis',
  ].join('\n');
}

/** The follow-up sent when a reply has no readable Results block (a bounded re-ask). */
export const REASK_MESSAGE = `Your answer did not end with the required block. Reply again with your analysis and then exactly:
## Results
Process Correctness: one of [Yes, No, Uncertain]
Final Response Correctness: one of [Yes, No, Uncertain]`;
