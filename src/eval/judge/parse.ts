/**
 * Reads a judge's reply. ToolAlpaca takes the text after `## Results` and the first word after
 * `Process Correctness: ` and `Final Response Correctness: `. Models vary the layout, so this parser also
 * accepts: any heading level or none (`Results:`, `**Results**`), bold labels (`**Process
 * Correctness:** Yes`), brackets or quotes around the word, other cases, `-`/`_` between the label's
 * words, a full-width colon, and the synonyms `Unsure`/`Unclear`/`Not sure` for Uncertain. When there is
 * no Results heading the last labelled line of the whole reply counts. A reply missing either label, or
 * with a word that is none of the three, is unreadable (`ok: false`).
 */
import type { VerdictLabel } from '../../core/run.js';

export type JudgeReplyParse =
  | { ok: true; process: VerdictLabel; response: VerdictLabel; analysis: string }
  | { ok: false; error: string };

const RESULTS_HEADING = /^[ \t>#*_]*results\b[ \t*_]*:?[ \t*_]*$/gim;
const ANALYSIS_HEADING = /^[ \t>#*_]*analysis\b[ \t*_]*:?[ \t*_]*$/im;

function labelPattern(words: string): RegExp {
  // e.g. "Final Response Correctness" → Final[\s_-]*Response[\s_-]*Correctness
  const label = words.split(' ').join('[\\s_-]*');
  return new RegExp(
    `${label}[\\s*_]*[:：=][\\s*_]*[\\["'\`(]*\\s*(yes|no|uncertain|unsure|unclear|not[\\s_-]+sure)\\b`,
    'gi',
  );
}

const PROCESS = labelPattern('Process Correctness');
const RESPONSE = labelPattern('Final Response Correctness');

function normalise(word: string): VerdictLabel {
  const lower = word.toLowerCase();
  if (lower === 'yes') return 'Yes';
  if (lower === 'no') return 'No';
  return 'Uncertain';
}

function lastMatch(pattern: RegExp, text: string): string | undefined {
  let last: string | undefined;
  for (const match of text.matchAll(pattern)) last = match[1];
  return last;
}

export function parseJudgeReply(text: string): JudgeReplyParse {
  // The part after the last Results heading, if any; else the whole reply.
  let results = text;
  let cut = -1;
  let start = -1;
  for (const match of text.matchAll(RESULTS_HEADING)) {
    start = match.index;
    cut = match.index + match[0].length;
  }
  if (cut >= 0) results = text.slice(cut);
  let process = lastMatch(PROCESS, results);
  let response = lastMatch(RESPONSE, results);
  if (cut >= 0 && (process === undefined || response === undefined)) {
    process ??= lastMatch(PROCESS, text);
    response ??= lastMatch(RESPONSE, text);
  }
  if (process === undefined || response === undefined) {
    const missing = [
      process === undefined ? 'Process Correctness' : undefined,
      response === undefined ? 'Final Response Correctness' : undefined,
    ].filter((x) => x !== undefined);
    return { ok: false, error: `judge reply has no readable ${missing.join(' and ')}` };
  }
  // The analysis: the text before the Results heading, without a leading Analysis heading.
  let analysis = start >= 0 ? text.slice(0, start) : text;
  const heading = ANALYSIS_HEADING.exec(analysis);
  if (heading !== null) analysis = analysis.slice(heading.index + heading[0].length);
  return { ok: true, process: normalise(process), response: normalise(response), analysis: analysis.trim() };
}
