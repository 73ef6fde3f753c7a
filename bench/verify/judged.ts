/**
 * Verification against ToolAlpaca's published GPT-4 judgments (docs/verification.md): each judged
 * solution becomes an instance of its tool (eval_simulated.json, with its standard answers), every
 * instance is verified with the rule-based stages, and the verdicts are tallied against GPT-4's process
 * labels. Usage: node --import tsx bench/verify/judged.ts JUDGED.json [EVAL_SET.json]
 */
import { readResultsFile } from '../../src/eval/import/toolalpaca.js';
import { readToolAlpacaFile, recordToTool } from '../../src/formats/toolalpaca-json.js';
import { judgedCorpus } from '../../src/verify/judged-corpus.js';
import { verifyInstance } from '../../src/verify/verify-run.js';

async function main(): Promise<void> {
  const [file, evalSet = '../shared/data/toolalpaca/eval_simulated.json'] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: bench/verify/judged.ts JUDGED.json [EVAL_SET.json]');
  const results = await readResultsFile(file);
  if (results.kind !== 'judged') throw new Error(`${file}: not a judged file`);
  const { records, labels } = judgedCorpus(results.judged, await readToolAlpacaFile(evalSet));
  const tally: Record<string, number> = {};
  const rejectedYes: string[] = [];
  let solutions = 0;
  for (const [r, record] of records.entries()) {
    const tool = await recordToTool(record);
    for (const [i, instance] of (record.Instances ?? []).entries()) {
      const label = labels[r]?.[i];
      solutions++;
      const verification = await verifyInstance(record, tool, instance, i);
      const key = `${label?.process ?? 'unlabelled'} → ${verification.passed ? 'passed' : `${verification.stage}/${verification.reasons[0]?.code ?? '?'}`}`;
      tally[key] = (tally[key] ?? 0) + 1;
      if (label?.process === 'Yes' && !verification.passed) {
        rejectedYes.push(
          `${label.tool}#${label.index}: ${verification.reasons.map((x) => x.message).join('; ')}`,
        );
      }
    }
  }
  process.stdout.write(`${file}: ${solutions} solutions\n`);
  for (const [key, count] of Object.entries(tally).sort()) process.stdout.write(`  ${key}: ${count}\n`);
  for (const line of rejectedYes) process.stdout.write(`  rejected GPT-4 Yes: ${line}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
