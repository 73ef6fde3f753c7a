/**
 * `toolalpaca/view`: the viewer of `toolalpaca view` — corpora, logs, run and judged files, ToolBench
 * answers, ToolEval results and training exports, browsed in a web page served on loopback.
 */
export { startViewer, type RunningViewer, type StartViewerOptions } from './start-viewer.js';
export { detectPaths, VIEWABLE, type Detected, type Reader } from './detect.js';
export { Viewer, type ViewerOptions } from './viewer.js';
export { startViewServer, type ViewServer, type ViewServerOptions } from './server.js';
export { FILE_KIND_LABELS, type FileInfo, type FileKind } from './api.js';
