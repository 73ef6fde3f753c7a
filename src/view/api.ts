/**
 * The viewer's JSON API: what the server sends and the browser reads. Types and constants only (no
 * runtime dependency), so the front-end bundle can import it too.
 */

/** What a file opened in the viewer turned out to be (detected from its content). */
export type FileKind =
  | 'corpus'
  | 'tools'
  | 'generation-log'
  | 'run'
  | 'judged'
  | 'toolbench-answers'
  | 'tooleval'
  | 'export'
  | 'sft-records'
  | 'tokens';

export const FILE_KIND_LABELS: Record<FileKind, string> = {
  corpus: 'ToolAlpaca corpus',
  tools: 'tool file',
  'generation-log': 'generation log',
  run: 'evaluation run',
  judged: 'judged run',
  'toolbench-answers': 'ToolBench answers',
  tooleval: 'ToolEval results',
  export: 'training export',
  'sft-records': 'training records',
  tokens: 'token masks',
};

/** Facets of the list, in display order: URL parameter name and label. */
export const FACETS = [
  { name: 'tool', label: 'tool' },
  { name: 'category', label: 'category' },
  { name: 'status', label: 'status' },
  { name: 'failure', label: 'failure reason' },
  { name: 'kind', label: 'instance kind' },
  { name: 'verification', label: 'verification' },
  { name: 'reason', label: 'verification reason' },
  { name: 'process', label: 'judge: process' },
  { name: 'response', label: 'judge: response' },
  { name: 'checker', label: 'deterministic checker' },
  { name: 'agreement', label: 'judge vs checker' },
  { name: 'tooleval', label: 'ToolEval pass' },
  { name: 'win', label: 'ToolEval win' },
  { name: 'finish', label: 'finish' },
  { name: 'source', label: 'observation source' },
  { name: 'group', label: 'group' },
  { name: 'split', label: 'split' },
] as const;

export type FacetName = (typeof FACETS)[number]['name'];
export const FACET_NAMES: readonly string[] = FACETS.map((f) => f.name);

/** Facet values of one item (an item may have several values of a facet, e.g. observation sources). */
export type FacetValues = Partial<Record<FacetName, string[]>>;

export interface FileInfo {
  id: number;
  /** The path as given on the command line. */
  path: string;
  absPath: string;
  kind: FileKind;
  /** Items indexed so far. */
  count: number;
  /** True while the file is being read; the list grows meanwhile. */
  indexing: boolean;
  /** Watched for appended lines (generation logs) or replacement. */
  live: boolean;
  /** Index version: grows whenever items are added or the file is re-read. */
  version: number;
  /** One-line problem when the file could not be read (fully). */
  error?: string;
  /** Short facts shown above the list (model, executor, judge, counts...). */
  meta: Record<string, string>;
  /** True for files holding trajectories that can be compared with another file's. */
  comparable: boolean;
  /** True when the items carry judge labels (the judgments view applies). */
  judged: boolean;
}

export interface ItemRow {
  /** Position in the file (0-based); with the file id, the item's address. */
  n: number;
  /** Stable id within the file (`Tool#3`, a query id, a line number...). */
  id: string;
  title: string;
  tool?: string;
  steps?: number;
  facets: FacetValues;
  /** The LLM judge and the deterministic checker disagree on the process. */
  disagree?: boolean;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface ListResponse {
  file: FileInfo;
  /** The file is still being indexed: total, rows and facet counts cover the items read so far. */
  partial: boolean;
  total: number;
  offset: number;
  rows: ItemRow[];
  /** Per facet: counts of each value among items matching the other facets' filters and the search. */
  facets: Partial<Record<FacetName, FacetCount[]>>;
}

export interface PositionResponse {
  /** Position of the item in the filtered list, or -1. */
  index: number;
  total: number;
  /** Ids of the items before and after it in the list. */
  prev?: string;
  next?: string;
}

export interface StepView {
  thought?: string;
  action: string;
  actionInput: string;
  observation: string;
  /** Where the observation came from: real, simulated, schema, cache, replay, mcp... */
  source?: string;
}

export interface TrajectoryView {
  instruction: string;
  steps: StepView[];
  finalThought?: string;
  finalAnswer?: string;
  status?: string;
  failure?: { reason: string; message: string };
  /** The standard answer (evaluation sets). */
  golden?: { action: string; actionInput: string }[];
  /** missing-info instances: the argument the request left out, and what the user gave when asked. */
  missing?: { argument: string; function?: string; value?: string };
  /** multi-turn instances: the user's turns after the first, each with its steps and answer. */
  followUps?: TrajectoryView[];
}

export interface LlmJudgmentView {
  model: string;
  process?: string;
  response?: string;
  /** False for a judge that does not judge the final response. */
  responseJudged: boolean;
  error?: string;
  verdicts: { process?: string; response?: string; analysis: string; error?: string }[];
}

export interface ToolEvalView {
  passed: boolean;
  passedVotes: number;
  failedVotes: number;
  answerStatus?: string;
  runs: { label: string; decision: string; answerStatus: string; taskStatus?: string; reason: string }[];
  win?: { outcome: string; how: string; rounds: (string | null)[] };
}

export interface JudgmentsView {
  llm?: LlmJudgmentView;
  checker?: { correct: boolean; reasons: string[]; computed: boolean };
  agreement?: 'agree' | 'disagree';
  tooleval?: ToolEvalView;
}

export interface VerificationView {
  passed: boolean;
  stage?: string;
  /** Each reason as shown (`code: message` for the verify command's reasons). */
  reasons: string[];
  /** The reasons' codes, when they have codes (the `reason` facet). */
  codes?: string[];
  /** The LLM judge's record in one line (model, majority, verdicts, agreement). */
  judge?: string;
}

export interface TreeNodeView {
  id: number;
  /** -1 for the root. */
  parent: number;
  /** Steps from the root (the root is 0). */
  depth: number;
  thought?: string;
  action?: string;
  input?: string;
  observation?: string;
  /** ToolBench's observation code (0 ok, 1 no such function, 2 bad input, 3 answer, 4 give up...). */
  code?: number;
  pruned: boolean;
  gaveUp: boolean;
  chosen: boolean;
  /** Order in which the search expanded the node (ToolBench's expand_num). */
  order?: number;
  error?: string;
}

export interface TreeStats {
  nodes: number;
  steps: number;
  /** Model calls the search spent (query_count). */
  calls: number;
  toolCalls: number;
  giveUps: number;
  pruned: number;
  /** Times the search went back up and tried another branch. */
  backtracks: number;
  maxDepth: number;
  finishType: string;
  stopReason?: string;
}

export interface TreeView {
  nodes: TreeNodeView[];
  stats: TreeStats;
  /** Which path is marked chosen: the answer's, a give-up's, or none. */
  chosenKind: 'answer' | 'give_up' | 'none';
}

/** A run of tokens shown together: one token when tokens decode one by one, else a trained/untrained span. */
export interface TokenSegment {
  ids: number[];
  /** Decoded text; absent when the tokenizer is not available. */
  text?: string;
  trained: boolean;
}

export interface TokensView {
  segments: TokenSegment[];
  /** Tokens whose label is not -100. */
  trained: number;
  total: number;
  /** False when the tokenizer was not available (ids only). */
  decoded: boolean;
  /** True when each segment is one token. */
  perToken: boolean;
  note?: string;
}

export interface TurnView {
  role: string;
  content: string;
  /** Part of the loss (assistant turns, ToolAlpaca's trainable segments). */
  trained?: boolean;
}

export interface ItemDetail {
  file: number;
  n: number;
  id: string;
  title: string;
  tool?: string;
  category?: string;
  /** The tool's NL documentation, when known (from this file or another open file). */
  toolDoc?: string;
  instanceKind?: string;
  facets: FacetValues;
  trajectory?: TrajectoryView;
  judgments?: JudgmentsView;
  verification?: VerificationView;
  tree?: TreeView;
  turns?: TurnView[];
  tokens?: TokensView;
  /** Short facts (method, calls, usage...). */
  fields: Record<string, string>;
  /** Files and items this one relates to (the answer a ToolEval verdict is about...). */
  links?: { label: string; file: number; n: number }[];
}

export interface ComparePair {
  key: string;
  title: string;
  tool?: string;
  a?: ItemRow;
  b?: ItemRow;
  /** Status or labels differ between the two sides. */
  differs: boolean;
}

export interface CompareResponse {
  a: FileInfo;
  b: FileInfo;
  total: number;
  offset: number;
  pairs: ComparePair[];
  counts: { both: number; onlyA: number; onlyB: number; differ: number };
}

export interface SummaryResponse {
  /** Bar chart data: per tool, percentages of each series (0-100). */
  title: string;
  categories: string[];
  series: { name: string; facet: FacetName; value: string; values: (number | undefined)[] }[];
}
