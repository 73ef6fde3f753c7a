/**
 * Where a llama model's GGUF file is: a local path, or a Hugging Face reference downloaded on first
 * use into a cache folder. Offline, the error says which file to fetch and where to put it.
 */
import { access, open, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createModelDownloader, resolveModelFile } from 'node-llama-cpp';
import { InputError, ServiceError, messageOf, oneLine } from '../../core/errors.js';

export type LlamaModelSource = { path: string } | { hf: { org: string; repo: string; quant: string } };

export interface DownloadProgress {
  downloadedBytes: number;
  totalBytes: number;
}

export interface ResolveModelFileOptions {
  /** Cache folder for hub downloads. Default `~/.cache/toolalpaca/models`. */
  modelsDir?: string;
  /** Called while a hub model downloads. Default: a progress bar on stderr when it is a terminal. */
  onDownloadProgress?: (progress: DownloadProgress) => void;
  /** Time allowed to reach the hub and resolve the file before giving up. Default 30 s. */
  resolveTimeoutMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_MODELS_DIR = join(homedir(), '.cache', 'toolalpaca', 'models');

/** The spec text of a source: "llama:PATH" or "llama:hf:ORG/REPO:QUANT". */
export function llamaSpecOf(source: LlamaModelSource): string {
  return 'path' in source ? `llama:${source.path}` : `llama:${hubUri(source.hf)}`;
}

function hubUri(hf: { org: string; repo: string; quant: string }): string {
  return `hf:${hf.org}/${hf.repo}:${hf.quant}`;
}

/** Same replacement rule as the `filenamify` package node-llama-cpp uses (for ordinary names). */
function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[<>:"/\\|?*\u0000-\u001f]/g, '!');
}

/**
 * The file name node-llama-cpp gives a downloaded `hf:ORG/REPO:QUANT` model (and looks for before
 * going online): `hf_ORG_BASE.QUANT.gguf` where BASE is REPO without a "-GGUF" suffix, or
 * `hf_ORG_REPO_REPO.QUANT.gguf` when REPO has no such suffix.
 */
export function hubFileName(hf: { org: string; repo: string; quant: string }): string {
  const hasSuffix = hf.repo.toLowerCase().endsWith('-gguf');
  const base = safeName(hasSuffix ? hf.repo.slice(0, -'-gguf'.length) : hf.repo);
  const prefix = hasSuffix ? `hf_${safeName(hf.org)}_` : `hf_${safeName(hf.org)}_${safeName(hf.repo)}_`;
  return `${prefix}${base}.${hf.quant.toUpperCase()}.gguf`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of the model file; downloads a hub model when it is not cached yet. */
export async function resolveLlamaModelFile(
  source: LlamaModelSource,
  options: ResolveModelFileOptions = {},
): Promise<string> {
  if ('path' in source) {
    const path = resolve(source.path);
    const isFile = await stat(path).then(
      (info) => info.isFile(),
      () => false,
    );
    if (!isFile) throw new InputError(`llama:${source.path}: no such model file`);
    return path;
  }

  const uri = hubUri(source.hf);
  const dir = resolve(options.modelsDir ?? DEFAULT_MODELS_DIR);
  const expected = join(dir, hubFileName(source.hf));
  const offline = (cause: unknown): ServiceError =>
    new ServiceError(
      `cannot download ${uri} (offline?): download the GGUF file yourself and put it at ${expected}, or pass llama:/path/to/file.gguf`,
      { cause },
    );

  if (await exists(expected)) return expected;
  // node-llama-cpp also recognises split files and other names it may have used; this never goes online.
  try {
    return await resolveModelFile(uri, { directory: dir, download: false, cli: false });
  } catch {
    // not cached: download below
  }

  const timeoutMs = options.resolveTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the hub within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const progress = options.onDownloadProgress ?? stderrProgressBar(uri);
    // Resolving the hub manifest is the step that fails offline; bound it so a dead network fails fast.
    const downloader = await Promise.race([
      createModelDownloader({
        modelUri: uri,
        dirPath: dir,
        showCliProgress: false,
        onProgress:
          progress === undefined
            ? undefined
            : (s) => progress({ downloadedBytes: s.downloadedSize, totalBytes: s.totalSize }),
      }),
      timeout,
    ]);
    clearTimeout(timer);
    return await downloader.download({ signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw offline(new Error(oneLine(messageOf(error))));
  } finally {
    clearTimeout(timer);
  }
}

/** A one-line download bar on stderr, or undefined when stderr is not a terminal. */
export function stderrProgressBar(label: string): ((p: DownloadProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = -1;
  return ({ downloadedBytes, totalBytes }) => {
    const ratio = totalBytes > 0 ? Math.min(1, downloadedBytes / totalBytes) : 0;
    const percent = Math.floor(ratio * 100);
    if (percent === last) return;
    last = percent;
    const width = 30;
    const filled = Math.round(ratio * width);
    const mb = (n: number): string => (n / 1_048_576).toFixed(1);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% ${mb(downloadedBytes)}/${mb(totalBytes)} MB`,
    );
    if (ratio >= 1) process.stderr.write('\n');
  };
}

/**
 * Rejects files that are not GGUF v2/v3 before llama.cpp sees them: node-llama-cpp reads a bad
 * header's counts as they are and can allocate gigabytes or hang instead of failing.
 */
export async function assertGgufFile(path: string, spec: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(24);
    const { bytesRead } = await handle.read(header, 0, 24, 0);
    const magic = header.subarray(0, 4).toString('latin1');
    const version = header.readUInt32LE(4);
    const tensors = header.readBigUInt64LE(8);
    const metadata = header.readBigUInt64LE(16);
    const sane = bytesRead === 24 && magic === 'GGUF' && (version === 2 || version === 3);
    if (!sane || tensors > 1_000_000n || metadata > 1_000_000n) {
      throw new InputError(`${spec}: not a GGUF model file (v2 or v3 expected): ${path}`);
    }
  } finally {
    await handle.close();
  }
}
