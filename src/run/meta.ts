/**
 * The metadata file written beside a run's output (`OUT.json.meta.json`): what was asked, what came out,
 * what it cost, and which versions produced it. Written atomically when a run assembles its files.
 */
import { writeFileAtomic } from '../core/atomic-write.js';
import { VERSION } from '../core/version.js';
import type { CostLedger } from '../models/ledger.js';

export interface RunMetaContent {
  parameters: unknown;
  options: Record<string, unknown>;
  summary: unknown;
  ledger?: CostLedger | undefined;
}

export async function writeRunMeta(path: string, content: RunMetaContent): Promise<void> {
  const meta = {
    parameters: content.parameters,
    options: content.options,
    summary: content.summary,
    ledger: content.ledger?.toJSON() ?? null,
    versions: { toolalpaca: VERSION, node: process.version },
    finishedAt: new Date().toISOString(),
  };
  await writeFileAtomic(path, `${JSON.stringify(meta, null, 2)}\n`);
}
