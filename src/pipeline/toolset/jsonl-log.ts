/** The durable JSONL log now lives in `../jsonl-log.ts`; this path stays for existing importers. */
export {
  openJsonlLog,
  readJsonlLog,
  type JsonlLogContents,
  type JsonlLogOptions,
  type JsonlLogWriter,
} from '../jsonl-log.js';
