/**
 * `toolalpaca/export`: corpora (ToolAlpaca JSON, generation journals, ToolBench answers) to SFT
 * training data in one of five layouts, with ToolAlpaca's filters, splits by tool, a dataset card and
 * optional token masks; streamed, so memory stays flat in the number of instances.
 */
export { runExport, type ExportOptions, type ExportResult } from './export.js';
export { openCorpus, readCorpus, type Corpus, type CorpusKind, type CorpusReader } from './read-corpus.js';
export { getSftLayout, isSftLayoutName, type LayoutOptions } from './layouts.js';
export { type ChatTurn, type SftLayout } from './layout.js';
export { type SftExample, type SftFunction, type SftStep } from './example.js';
export {
  DROP_REASONS,
  ExampleFilter,
  filterExamples,
  splitByTool,
  type DropReason,
  type FilterCounts,
  type FilterOptions,
  type Split,
  type SplitOptions,
} from './filters.js';
export { datasetCard, type CardCounts, type CardInput } from './dataset-card.js';
// Token masks run inside `runExport` (options `tokenizer`, `template`); their module is not public, so
// that the declarations do not pull in @huggingface/tokenizers' (which need skipLibCheck under NodeNext).
export { exampleOfInstance } from './read-toolalpaca.js';
export { exampleOfAnswer, readToolBenchAnswers, streamToolBenchAnswers } from './read-toolbench.js';
