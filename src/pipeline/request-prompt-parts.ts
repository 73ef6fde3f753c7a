/**
 * Lines shared by the prompts that ask a model for user requests (ToolAlpaca's default instructions and
 * the instance kinds): the API shown to the model and the requests it must not repeat.
 */
import type { ToolAlpacaRecord } from '../core/toolalpaca-record.js';

/** The `<API>` block: the tool's name, description and functions as NL documentation. */
export function apiBlockLines(record: ToolAlpacaRecord): string[] {
  return [
    '<API>',
    `Name: ${record.Name}`,
    `Description: ${record.Description ?? record.Introduction ?? ''}`,
    `API Functions: ${record.NLDocumentation ?? record.Functions ?? ''}`,
    '</API>',
  ];
}

/** The requests already written (the last 30), for the model to differ from; none when there are none. */
export function avoidLines(avoid: readonly string[]): string[] {
  if (avoid.length === 0) return [];
  return [
    '',
    'These requests already exist; write new ones that differ from them in need and wording:',
    ...avoid.slice(-30).map((text) => `- ${text}`),
  ];
}
