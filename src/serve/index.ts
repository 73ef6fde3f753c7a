/** The virtual API server behind `toolalpaca serve`, for use as a library. */
export { createToolServer } from './server.js';
export { pluginManifest, servedOpenApi } from './documents.js';
export {
  DEFAULT_BODY_LIMIT,
  DEFAULT_INSTANCE,
  INSTANCE_HEADER,
  SOURCE_HEADER,
  WARNINGS_HEADER,
  type ToolServer,
  type ToolServerOptions,
} from './options.js';
