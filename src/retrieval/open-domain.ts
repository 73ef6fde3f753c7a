/**
 * ToolBench's open-domain setting: the solver is not given the query's own APIs; a retriever picks the
 * top K APIs for the query from a whole corpus (ToolBench: every API of the tool set), and the solver
 * sees only those (`solve --retrieve K`). The tasks keep their `relevantApis`, so recall can be checked.
 */
import { readFile } from 'node:fs/promises';
import { InputError, messageOf, oneLine } from '../core/errors.js';
import { isRecord } from '../core/json-text.js';
import { RawToolBenchApiSchema, type RawToolBenchApi, type ToolBenchTask } from '../core/toolbench.js';
import { rawQueryToTask } from '../formats/toolbench.js';
import { apiId, documentsFromToolBenchQueries, isToolBenchQueryList, type ApiDocument } from './documents.js';
import { DEFAULT_LEXICAL, LexicalRetriever, type LexicalConfig } from './lexical.js';

/** The corpus: every API of the files (ToolBench query files), each (tool, API) once, with its raw entry. */
export interface RetrievalCorpus {
  documents: ApiDocument[];
  /** The `api_list` entry of each document, by document id. */
  raw: Map<string, RawToolBenchApi>;
}

export async function readRetrievalCorpus(files: readonly string[]): Promise<RetrievalCorpus> {
  const documents: ApiDocument[] = [];
  const seen = new Set<string>();
  const raw = new Map<string, RawToolBenchApi>();
  for (const file of files) {
    let data: unknown;
    try {
      data = JSON.parse(await readFile(file, 'utf8')) as unknown;
    } catch (error) {
      throw new InputError(oneLine(`${file}: cannot read a ToolBench query file (${messageOf(error)})`));
    }
    if (!isToolBenchQueryList(data))
      throw new InputError(
        `${file}: not a ToolBench query file (expected a list of objects with "query" and "api_list")`,
      );
    for (const query of data) {
      for (const entry of (query.api_list as unknown[]) ?? []) {
        const parsed = RawToolBenchApiSchema.safeParse(entry);
        if (!parsed.success || !isRecord(entry)) continue;
        const id = apiId(parsed.data.tool_name.trim(), parsed.data.api_name.trim());
        if (!raw.has(id)) raw.set(id, parsed.data);
      }
    }
    for (const doc of documentsFromToolBenchQueries(data)) {
      if (seen.has(doc.id)) continue;
      seen.add(doc.id);
      documents.push(doc);
    }
  }
  if (documents.length === 0) throw new InputError(`no APIs in ${files.join(', ')}`);
  return { documents, raw };
}

export interface OpenDomainResult {
  tasks: ToolBenchTask[];
  /** Per task: how many of its relevant APIs the retriever picked, of how many. */
  recall: { queryId: string; found: number; relevant: number }[];
}

/** Each task rebuilt from the `k` APIs the lexical retriever picks for its query from `corpus`. */
export function openDomainTasks(
  tasks: readonly ToolBenchTask[],
  corpus: RetrievalCorpus,
  k: number,
  config: LexicalConfig = DEFAULT_LEXICAL,
): OpenDomainResult {
  const retriever = new LexicalRetriever(corpus.documents, config);
  const out: ToolBenchTask[] = [];
  const recall: OpenDomainResult['recall'] = [];
  for (const task of tasks) {
    const picked = retriever.retrieve(task.query, k);
    const apiList = picked
      .map(({ doc }) => corpus.raw.get(doc.id))
      .filter((a): a is RawToolBenchApi => a !== undefined);
    const rebuilt = rawQueryToTask(
      { query: task.query, query_id: task.queryId, api_list: apiList, 'relevant APIs': task.relevantApis },
      {
        label: `retrieved APIs of query ${task.queryId}`,
        ...(task.group !== undefined ? { group: task.group } : {}),
      },
    );
    out.push(rebuilt);
    const ids = new Set(picked.map(({ doc }) => doc.id));
    const relevant = task.relevantApis.map(([tool, api]) => apiId(tool.trim(), api.trim()));
    recall.push({
      queryId: task.queryId,
      found: relevant.filter((id) => ids.has(id)).length,
      relevant: relevant.length,
    });
  }
  return { tasks: out, recall };
}
