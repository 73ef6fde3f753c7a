#!/usr/bin/env node
// Bundles the viewer's front end (src/view/app, Preact) into dist/view/assets/app.js and app.css with
// esbuild, so the package serves every asset itself (no CDN). Part of `npm run build`.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'view', 'assets');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'view', 'app', 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  entryPoints: [join(root, 'src', 'view', 'app', 'app.css')],
  outfile: join(out, 'app.css'),
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
