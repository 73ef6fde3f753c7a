/**
 * `toolalpaca/pipeline`: the stages that make a corpus: toolsets built from API catalogues, instructions
 * (one tool, or several for ToolBench's I2/I3), generation runs (one episode per tool and instruction,
 * resumable), and `solve` runs of ToolBench tasks. Each long run is built on `toolalpaca/run`.
 */
export {
  DEFAULT_GENERATION_PROMPT,
  DEFAULT_INSTRUCTIONS_PER_TOOL,
  loadGenerationTools,
  lookupRunTools,
  runGeneration,
  type GenerationOptions,
  type GenerationProgress,
  type GenerationSummary,
  type InstructionShortfall,
} from './generate.js';
export {
  episodeTaskRunner,
  planEpisodeTasks,
  type EpisodeProgress,
  type EpisodeRecord,
  type EpisodeRunFigures,
  type EpisodeRunOptions,
  type EpisodeTaskInput,
  type EpisodeTaskOutput,
  type LoadedTool,
  type ToolLookup,
} from './episode-run.js';
export {
  generateInstructions,
  instructionPrompt,
  parseInstructionReply,
  type InstructionGenerationOptions,
  type InstructionGenerationResult,
  type ToolInstructionReport,
} from './instructions.js';
export {
  generateMultiToolInstructions,
  toolGroups,
  type MultiToolMode,
  type MultiToolOptions,
  type MultiToolResult,
} from './multi-tool-instructions.js';
export {
  answerFileName,
  runSolve,
  type SolveProgress,
  type SolveRunOptions,
  type SolveSummary,
} from './solve.js';
export {
  buildTool,
  buildToolset,
  DEFAULT_MAX_REPAIRS,
  type BuildFailure,
  type BuildOptions,
  type BuildProgress,
  type BuildSummary,
} from './toolset/build.js';
export { parseCatalogText, readCatalog, type CatalogFormat } from './toolset/catalog-readers.js';
export {
  formatCatalogSummary,
  selectEntries,
  summarizeCatalog,
  type CatalogSelection,
  type CatalogSummary,
} from './toolset/select.js';
export { formatToolsetStats, toolsetStats, type StatsOptions, type ToolsetStats } from './toolset/stats.js';
