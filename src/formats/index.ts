/**
 * `toolalpaca/formats`: reading tools from any source (`readTools`), and the readers and writers of each
 * format: ToolAlpaca JSON (byte-compatible with Python's `json.dumps`), OpenAPI / Swagger, ToolBench
 * queries and answers, NL documentation, usability checks, and streaming corpora past memory.
 */
export { readTools, type ReadToolsOptions, type ReadToolsResult, type ToolsFormat } from './read-tools.js';
export {
  DEFAULT_MAX_TOOLS_FILE_BYTES,
  looksLikeToolAlpaca,
  parseToolAlpacaJson,
  readToolAlpacaFile,
  readToolSource,
  recomputeDerivedFields,
  recordToTool,
  serializeToolAlpaca,
  toolsOfSource,
  toolToRecord,
  writeToolAlpacaFile,
  type ReadToolSourceOptions,
  type SourcedTool,
  type ToolSource,
} from './toolalpaca-json.js';
export {
  DEFAULT_MAX_SPEC_BYTES,
  detectOpenApiVersion,
  loadOpenApi,
  openApiToTool,
  readOpenApiPath,
  toolToOpenApi,
  validateOpenApi,
  type LoadedSpec,
  type LoadOptions,
  type OpenApiVersion,
  type ReadOptions,
  type ToolMeta,
} from './openapi.js';
export {
  importToolBenchFiles,
  readToolBenchAnswer,
  readToolBenchAnswers,
  readToolBenchQueries,
  readToolBenchTools,
  tasksFromJson,
  toolOfFunction,
  type ConvertOptions,
  type ImportReport,
} from './toolbench.js';
export {
  deriveNlDocumentation,
  deriveNlDocumentationFromText,
  type NlDocumentation,
  type NlDocumentationOptions,
} from './nl-documentation.js';
export { checkTool, formatProblem, type ToolProblem } from './tool-checks.js';
export {
  corpusFileKind,
  journalSummary,
  openToolAlpacaWriter,
  readJournalStream,
  readToolAlpacaRecordsStream,
  readToolAlpacaStream,
  type CorpusFileKind,
  type CorpusItem,
  type JournalStreamOptions,
  type JournalSummary,
  type ToolAlpacaStreamOptions,
  type ToolAlpacaStreamWriter,
} from './corpus-stream.js';
export { parsePythonJson, pythonJsonDumps, type PythonJsonDumpsOptions } from './python-json.js';
