/**
 * `datasets fetch`: download the public originals (or copy them from a local mirror), verify their
 * checksums, and write each file atomically so an interrupted fetch never leaves a half-written file.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError, ServiceError, messageOf } from '../core/errors.js';
import { DATASETS, findDataset, type Dataset, type DatasetFile } from './catalog.js';

export interface FetchOptions {
  /** Copy from this local folder (searched a few levels deep by file name) instead of downloading. */
  from?: string;
  /** Download from this base URL (`${mirror}/${file name}`) instead of the original hosts. */
  mirror?: string;
  /** Skip the checksum check (for originals that changed upstream). */
  verify?: boolean;
  timeoutMs?: number;
  /** Called once per file written. */
  onFile?: (event: FetchedFile) => void;
}

export interface FetchedFile {
  dataset: string;
  file: string;
  path: string;
  bytes: number;
  sha256: string;
  source: string;
}

export async function fetchDataset(
  name: string,
  dir: string,
  options: FetchOptions = {},
): Promise<FetchedFile[]> {
  const dataset = findDataset(name);
  if (!dataset) {
    throw new InputError(`unknown dataset '${name}'; known: ${DATASETS.map((d) => d.name).join(', ')}`);
  }
  // Every file is read and checked before any is written: a failed fetch leaves nothing half-done.
  const checked: { file: DatasetFile; bytes: Buffer; sha256: string; source: string }[] = [];
  for (const file of dataset.files) {
    const { bytes, source } = options.from
      ? await readFromMirrorDir(options.from, file)
      : await download(
          options.mirror ? `${options.mirror.replace(/\/$/, '')}/${file.name}` : file.url,
          file,
          options,
        );
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (options.verify !== false && sha256 !== file.sha256) {
      const details = {
        reason: 'checksum-mismatch',
        file: file.name,
        source,
        found: sha256.slice(0, 12),
        expected: file.sha256.slice(0, 12),
      };
      throw new ServiceError(
        `${file.name} from ${source}: checksum ${details.found}… does not match the expected ${details.expected}… (\`verify: false\` accepts it)`,
        { details },
      );
    }
    checked.push({ file, bytes, sha256, source });
  }
  const fetched: FetchedFile[] = [];
  for (const { file, bytes, sha256, source } of checked) {
    const path = join(dir, file.name);
    await writeFileAtomic(path, bytes);
    const event = { dataset: dataset.name, file: file.name, path, bytes: bytes.length, sha256, source };
    options.onFile?.(event);
    fetched.push(event);
  }
  return fetched;
}

async function download(
  url: string,
  file: DatasetFile,
  options: FetchOptions,
): Promise<{ bytes: Buffer; source: string }> {
  const host = new URL(url).host;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 60_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? messageOf(error);
    throw new ServiceError(
      `cannot download ${file.name}: ${host} is unreachable (${cause}); offline? copy the file from a mirror folder (\`from\`)`,
      { details: { reason: 'download-unreachable', file: file.name, host, code: cause } },
    );
  }
  if (!response.ok) {
    throw new ServiceError(
      `cannot download ${file.name}: ${host} answered HTTP ${response.status} for ${url}`,
    );
  }
  return { bytes: Buffer.from(await response.arrayBuffer()), source: url };
}

async function readFromMirrorDir(dir: string, file: DatasetFile): Promise<{ bytes: Buffer; source: string }> {
  const path = await findFileByName(dir, file.name, 3);
  if (!path) throw new InputError(`${dir}: no ${file.name} in this folder or its subfolders`);
  return { bytes: await readFile(path), source: path };
}

/** `name` (a file name, or a relative path such as `folder/file`) in `dir` or its subfolders. */
async function findFileByName(dir: string, name: string, depth: number): Promise<string | undefined> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    if (depth === 3) throw new InputError(`${dir}: no such folder`);
    return undefined;
  }
  const parts = name.split('/');
  if (parts.length > 1) {
    const here = join(dir, ...parts);
    if (entries.some((entry) => entry.isDirectory() && entry.name === parts[0]) && (await isFile(here)))
      return here;
  }
  const direct = entries.find((entry) => entry.isFile() && entry.name === name);
  if (direct) return join(dir, name);
  if (depth === 0) return undefined;
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const found = await findFileByName(join(dir, entry.name), name, depth - 1);
    if (found) return found;
  }
  return undefined;
}

/** Datasets known to `datasets fetch`, for `datasets list`. */
export function listDatasets(): readonly Dataset[] {
  return DATASETS;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
