/**
 * The three build prompts (Introduction → Functions → Documentation) and the repair prompt, written for
 * this project after the stage structure of ToolAlpaca's tool maker. Each prompt's first line is a
 * marker, `[toolset:<stage>]` or `[toolset:repair:<stage>]`, so logs, caches and test doubles can tell
 * which stage is asking.
 */
import type { BuildStage, CatalogEntry } from '../../core/catalog.js';

/** The first line of a stage prompt. */
export function stageMarker(stage: BuildStage): string {
  return `[toolset:${stage}]`;
}

/** The first line of a repair message for a stage. */
export function repairMarker(stage: BuildStage): string {
  return `[toolset:repair:${stage}]`;
}

function apiBlock(entry: CatalogEntry): string {
  return [
    `Name: ${entry.name}`,
    `Category: ${entry.category}`,
    `Link: ${entry.link === '' ? '(none)' : entry.link}`,
    `Description: ${entry.description === '' ? '(none)' : entry.description}`,
  ].join('\n');
}

export function introductionPrompt(entry: CatalogEntry): string {
  return `${stageMarker('introduction')}
You are documenting a web API from its one-line catalogue entry. Write its introduction.

Rules:
- Start with one or two sentences on what the API is for and who would use it.
- Then name the operations it offers as a numbered list inside the paragraph ("1) ... 2) ..."): between 2 and 6, each with one clear purpose, not overlapping.
- Operations that could return a lot of data take filters, a limit or pagination.
- Stay close to the catalogue description; do not invent unrelated features.
- Plain prose only, under 250 words: no headings, no code, no JSON.

${apiBlock(entry)}
Introduction:`;
}

export function functionsPrompt(entry: CatalogEntry, introduction: string): string {
  return `${stageMarker('functions')}
From the introduction of a web API below, list the functions a developer would call.

Rules:
- One function per operation in the introduction; between 2 and 8 functions.
- Function names are unique lowerCamelCase identifiers (letters and digits only), e.g. searchBooks.
- Input is a JSON object on one line: each key is a parameter name, each value a string of the form "Required. Type. What it means." or "Optional. Type. What it means." Use {} when the function takes no input.
- If a function needs a value users cannot know (an id, a code), another function must return it (a search or list function).
- Output says in one or two sentences every piece of information the function returns.
- Use exactly this layout and nothing else:

1. Name: functionName
   Description: what it does
   Input: {"param": "Required. String. What it means."}
   Output: what it returns

${apiBlock(entry)}
Introduction: ${introduction}
Functions:`;
}

export function documentationPrompt(entry: CatalogEntry, functionsText: string): string {
  return `${stageMarker('documentation')}
Write the OpenAPI 3.0 specification of the web API below as one JSON object.

Rules:
- "openapi": "3.0.0". In "info": "title" exactly "${entry.name}", a "version" and a "description".
- "servers": one entry whose "url" is the API's base URL${entry.link !== '' ? ` (use ${entry.link} if unsure)` : ''}.
- One operation per function in the list, no more and no fewer; its "operationId" is exactly the function's name. Do not use "tags".
- Put the function's inputs in "parameters" (query or path) or in a JSON "requestBody". Every parameter has a "description" and a "schema" with a "type"; add "enum", "minimum", "default" where they help.
- Every operation has a "200" response with "content" → "application/json" → "schema" describing each returned field; every schema of type "object" lists its "properties".
- Ids that some inputs need appear in the responses of the search or list operations.
- Reply with the JSON object only: no code fence, no text before or after.

${apiBlock(entry)}
Functions:
${functionsText}
OpenAPI JSON:`;
}

const STAGE_WHAT: Record<BuildStage, string> = {
  introduction: 'introduction (plain prose)',
  functions: 'function list in the required layout',
  documentation: 'OpenAPI 3.0 JSON object',
};

/**
 * The message sent after a reply failed its checks: the compact errors, and what to send back. A cut
 * off reply gets asked for a more compact answer.
 */
export function repairPrompt(stage: BuildStage, errors: readonly string[], truncated = false): string {
  const list = errors.map((error) => `- ${error}`).join('\n');
  const compact = truncated
    ? '\nYour reply was cut off before it ended. Make it shorter: brief descriptions, no examples, no repeated text.'
    : '';
  return `${repairMarker(stage)}
Your reply cannot be used yet:
${list}${compact}
Reply again with the complete corrected ${STAGE_WHAT[stage]}, nothing else.`;
}
