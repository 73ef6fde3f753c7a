/**
 * ToolBench answer files (ToolBench's `answer/G1_answer/10_ChatGPT_DFS_woFilter_w2.json`, `solve`'s
 * output folders): one item per file. The list shows the query, how the search finished and the calls it
 * spent; the detail shows the chosen path as a trajectory and the whole search tree.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isRecord } from '../../core/json-text.js';
import type { ToolBenchAnswerRecord } from '../../core/toolbench.js';
import {
  answerSteps,
  finalAnswerText,
  splitAnswerFileName,
  toolOfFunction,
} from '../../formats/toolbench.js';
import type { FileKind, ItemDetail } from '../api.js';
import { facetValues, normalizeText, type FileIndex } from '../file-index.js';
import { answerTree } from '../tree.js';
import { sourceOfExecutor } from '../trajectory.js';
import { Source, type SourceHost } from './source.js';

function finishOf(generation: Record<string, unknown>): string {
  if (generation.valid_data === false) return 'no answer';
  return typeof generation.finish_type === 'string' ? generation.finish_type : 'give_answer';
}

async function readAnswer(path: string): Promise<Record<string, unknown>> {
  const data = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (!isRecord(data) || !isRecord(data.answer_generation)) {
    throw new Error(`${path}: not a ToolBench answer file (no answer_generation)`);
  }
  return data;
}

export class ToolBenchAnswersSource extends Source {
  readonly kind: FileKind = 'toolbench-answers';
  override comparable = true;

  constructor(
    id: number,
    path: string,
    absPath: string,
    host: SourceHost,
    private readonly files: string[],
  ) {
    super(id, path, absPath, host);
  }

  override watched(): string[] {
    return [this.absPath];
  }

  protected async scan(into: FileIndex, signal: AbortSignal): Promise<void> {
    let calls = 0;
    const finishes = new Map<string, number>();
    for (const file of this.files) {
      if (signal.aborted) return;
      let answer: Record<string, unknown>;
      try {
        answer = await readAnswer(file);
      } catch {
        continue; // not an answer: the folder may hold other JSON files
      }
      const generation = answer.answer_generation as Record<string, unknown>;
      const [fileId, method] = splitAnswerFileName(file);
      const queryId =
        typeof answer.query_id === 'string' || typeof answer.query_id === 'number'
          ? String(answer.query_id)
          : fileId;
      const functions = Array.isArray(generation.function) ? generation.function : [];
      const tools = [
        ...new Set(
          functions
            .map((f) => (isRecord(f) && typeof f.name === 'string' ? f.name : ''))
            .filter((name) => name !== '' && name !== 'Finish')
            .map(toolOfFunction),
        ),
      ];
      const query = typeof generation.query === 'string' ? generation.query : '';
      const finish = finishOf(generation);
      finishes.set(finish, (finishes.get(finish) ?? 0) + 1);
      const queryCount = typeof generation.query_count === 'number' ? generation.query_count : 0;
      calls += queryCount;
      const folder = basename(dirname(file));
      const group = folder !== basename(this.absPath) ? folder : undefined;
      into.add({
        // Query ids repeat across groups (G1's 10 and G2's 10): the group keeps ids unique.
        id: group !== undefined ? `${group}/${queryId}` : queryId,
        title: query,
        tool: tools.join(', '),
        steps: queryCount,
        facets: facetValues({
          tool: tools,
          finish: [finish],
          group: [group],
          source: [sourceOfExecutor(answer.executor)],
          status: [typeof answer.stop_reason === 'string' ? answer.stop_reason : undefined],
        }),
        search: `${queryId}\n${query}\n${tools.join(' ')}\n${method}`.toLowerCase(),
        match: normalizeText(query),
        path: file,
      });
      this.host.changed(this);
    }
    this.meta.answers = String(into.size);
    this.meta['model calls'] = String(calls);
    this.meta.finish = [...finishes.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
  }

  /** The answer to query `queryId` (ids carry the group when the folder has several). */
  findQuery(queryId: string): number | undefined {
    const exact = this.find(queryId);
    if (exact !== undefined) return exact;
    const n = this.index.items.findIndex((item) => item.id.endsWith(`/${queryId}`));
    return n >= 0 ? n : undefined;
  }

  async raw(n: number): Promise<unknown> {
    return readAnswer(this.item(n).path as string);
  }

  async detail(n: number): Promise<ItemDetail> {
    const item = this.item(n);
    const detail = this.baseDetail(n);
    const answer = await readAnswer(item.path as string);
    const generation = answer.answer_generation as Record<string, unknown>;
    const [, method] = splitAnswerFileName(item.path as string);
    const record = {
      queryId: item.id.split('/').pop() ?? item.id,
      method,
      path: item.path as string,
      answer: { ...answer, answer_generation: { ...generation } },
      answered: false,
      finalAnswerText: '',
    } as unknown as ToolBenchAnswerRecord;
    const finish = finishOf(generation);
    const finalAnswer =
      typeof generation.final_answer === 'string' ? finalAnswerText(generation.final_answer) : '';
    const source = sourceOfExecutor(answer.executor);
    const steps = Array.isArray(generation.train_messages)
      ? answerSteps(record).map((s) => ({
          action: s.action,
          actionInput: s.actionInput,
          observation: s.observation,
          ...(s.thought !== undefined ? { thought: s.thought } : {}),
          ...(source !== undefined ? { source } : {}),
        }))
      : [];
    detail.trajectory = {
      instruction: item.title,
      steps,
      status: finish,
      ...(finalAnswer !== '' && finish === 'give_answer' ? { finalAnswer } : {}),
    };
    const tree = answerTree(answer);
    if (tree !== undefined) detail.tree = tree;
    detail.fields.method = method;
    detail.fields.finish = finish;
    if (typeof generation.query_count === 'number')
      detail.fields['model calls'] = String(generation.query_count);
    if (typeof generation.total_tokens === 'number') detail.fields.tokens = String(generation.total_tokens);
    for (const key of ['solver', 'model', 'executor', 'stop_reason']) {
      if (typeof answer[key] === 'string') detail.fields[key.replace('_', ' ')] = answer[key];
    }
    if (typeof answer.win === 'boolean') detail.fields['ToolBench win'] = String(answer.win);
    if (isRecord(answer.forward_args)) {
      detail.fields['search settings'] = Object.entries(answer.forward_args)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ');
    }
    const tooleval = this.host.toolevalOf(item.id.split('/').pop() ?? item.id);
    if (tooleval !== undefined) detail.judgments = { tooleval };
    const functions = Array.isArray(generation.function) ? generation.function : [];
    const docs = functions
      .filter(isRecord)
      .filter((f) => f.name !== 'Finish')
      .map((f) => `${String(f.name)}: ${typeof f.description === 'string' ? f.description : ''}`);
    if (docs.length > 0) detail.toolDoc = docs.join('\n\n');
    return detail;
  }
}
