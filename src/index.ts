export * from './core/errors.js';
export * from './core/tool.js';
export * from './core/toolalpaca-record.js';
export * from './core/http-binding.js';
