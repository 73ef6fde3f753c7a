/**
 * `toolalpaca`: the errors and the data model every other entry point speaks (tools, functions and
 * their bindings, ToolAlpaca records, run and judged files, JSON Schema helpers). The stages are under
 * their own subpaths (`toolalpaca/models`, `/formats`, `/executors`, `/agents`, `/pipeline`, `/search`,
 * `/export`, `/eval`, `/retrieval`, `/run`, `/testing`, `/verify`, `/mcp`, `/serve`, `/view`); see
 * docs/library.md. Importing it loads no native module.
 */
export { InputError, messageOf, oneLine, ServiceError, ToolalpacaError } from './core/errors.js';
export {
  AuthSchemeSchema,
  HttpBindingSchema,
  HttpMethodSchema,
  JsonSchemaSchema,
  McpBindingSchema,
  ParameterLocationSchema,
  RequestBodySchema,
  ResponseSpecSchema,
  ToolBindingSchema,
  ToolFunctionSchema,
  ToolParameterSchema,
  ToolSchema,
  type AuthScheme,
  type HttpBinding,
  type HttpMethod,
  type McpBinding,
  type ParameterLocation,
  type RequestBody,
  type ResponseSpec,
  type Tool,
  type ToolBinding,
  type ToolFunction,
  type ToolParameter,
} from './core/tool.js';
export {
  InstanceSchema,
  IntermediateStepSchema,
  ToolAlpacaRecordSchema,
  type Instance,
  type IntermediateStep,
  type ToolAlpacaRecord,
} from './core/toolalpaca-record.js';
export {
  bodyIsObject,
  httpBindingOf,
  httpFunction,
  httpInputSchema,
  httpViewOf,
  type HttpFunctionFields,
} from './core/http-binding.js';
export {
  canonicalJson,
  compileSchema,
  normalizeSchema,
  prepareSchemaCompiler,
  schemaErrors,
  tryCompile,
  type JsonSchema,
} from './core/json-schema.js';
export {
  JUDGED_KIND,
  JudgedFileSchema,
  parseJudgedFile,
  parseRunFile,
  RUN_FORMAT_VERSION,
  RUN_KIND,
  RunFileSchema,
  type JudgedFile,
  type JudgedItem,
  type RunFile,
  type RunItem,
  type RunMeta,
  type RunStep,
  type Statistics,
  type Verdict,
  type VerdictLabel,
} from './core/run.js';
export {
  ToolBenchAnswerSchema,
  ToolBenchTaskSchema,
  type ToolBenchAnswer,
  type ToolBenchTask,
  type ToolBenchTasksFile,
} from './core/toolbench.js';
export { CatalogEntrySchema, type CatalogEntry } from './core/catalog.js';
export { VERSION } from './core/version.js';
