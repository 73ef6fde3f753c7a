/**
 * A run's input files as they travel to workers on other machines: the producer bundles each input
 * (a file, or every file under a folder) into the run's spec, and a worker writes the bundle back to
 * a folder of its own, so that it reads exactly the bytes the producer planned from (the tools' hash
 * in the journal's header is that of these bytes).
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { InputError, messageOf, oneLine } from '../../core/errors.js';

export interface InputBundle {
  /** The input's base name (a file's, or a folder's). */
  name: string;
  directory: boolean;
  /** Files by path relative to the folder (a single file: its name), content in base64. */
  files: { path: string; data: string }[];
}

/** Reads `path` (a file, or every file under a folder) into a bundle. */
export async function bundleInput(path: string): Promise<InputBundle> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) {
      return {
        name: basename(path),
        directory: false,
        files: [{ path: basename(path), data: (await readFile(path)).toString('base64') }],
      };
    }
    const files: InputBundle['files'] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          files.push({
            path: relative(path, full).split(sep).join('/'),
            data: (await readFile(full)).toString('base64'),
          });
        }
      }
    };
    await walk(path);
    return { name: basename(path), directory: true, files };
  } catch (error) {
    throw new InputError(oneLine(`${path}: cannot read: ${messageOf(error)}`), { cause: error });
  }
}

/** Writes a bundle under `dir` and returns the path standing for the original input. */
export async function materializeInput(bundle: InputBundle, dir: string): Promise<string> {
  const root = join(dir, bundle.name);
  for (const file of bundle.files) {
    if (file.path.split('/').some((part) => part === '..' || part === '')) {
      throw new Error(`bundled input ${bundle.name}: unsafe path ${JSON.stringify(file.path)}`);
    }
    const target = bundle.directory ? join(root, ...file.path.split('/')) : root;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, Buffer.from(file.data, 'base64'));
  }
  if (bundle.directory) await mkdir(root, { recursive: true });
  return root;
}
