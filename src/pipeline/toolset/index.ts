/** Toolset construction from API catalogues: readers, selection, the staged builder, diversity stats. */
export * from './catalog-readers.js';
export * from './select.js';
export * from './prompts.js';
export * from './functions-text.js';
export * from './checks.js';
export * from './jsonl-log.js';
export * from './build.js';
export * from './stats.js';
