/**
 * The fixed documents of each served tool (openapi.json, the ChatGPT-plugin manifest, a logo) and the
 * listings shown by `/` and 404 answers.
 */
import type { FastifyReply } from 'fastify';
import { oneLine } from '../core/errors.js';
import type { Tool } from '../core/tool.js';
import { toolToOpenApi } from '../formats/openapi.js';
import { toolUrl, type ServeContext } from './context.js';
import type { MountedTool } from './mount.js';

type Json = Record<string, unknown>;

/** A 1×1 transparent PNG, served as every tool's plugin logo. */
const LOGO_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

/** Paths under a tool's prefix that serve its fixed documents, as segments. */
export const DOCUMENT_PATHS: readonly (readonly string[])[] = [
  ['openapi.json'],
  ['.well-known', 'ai-plugin.json'],
  ['logo.png'],
];

function modelName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 50);
  return cleaned === '' ? 'tool' : cleaned;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The ChatGPT-plugin manifest of a tool served at `toolUrl`. */
export function pluginManifest(tool: Tool, toolUrl: string): Json {
  const description = tool.description.trim() === '' ? `The ${tool.name} API.` : tool.description.trim();
  return {
    schema_version: 'v1',
    name_for_human: clip(tool.name, 20),
    name_for_model: modelName(tool.name),
    description_for_human: clip(oneLine(description, 1000), 100),
    description_for_model: clip(oneLine(description, 8000), 8000),
    auth: { type: 'none' },
    api: { type: 'openapi', url: `${toolUrl}/openapi.json`, is_user_authenticated: false },
    logo_url: `${toolUrl}/logo.png`,
    contact_email: 'support@example.com',
    legal_info_url: tool.link ?? `${toolUrl}/legal`,
  };
}

/** The tool's OpenAPI document with `servers` pointing at this server's mount of the tool. */
export function servedOpenApi(tool: Tool, toolUrl: string): Json {
  const doc = toolToOpenApi(tool);
  doc.servers = [{ url: toolUrl, description: 'toolalpaca virtual API server' }];
  return doc;
}

/** Answers the tool's fixed documents; undefined for other paths. */
export function sendDocument(
  context: ServeContext,
  m: MountedTool,
  rest: readonly string[],
  reply: FastifyReply,
): FastifyReply | undefined {
  const path = rest.join('/');
  if (path === 'openapi.json') return reply.send(servedOpenApi(m.tool, toolUrl(context, m)));
  if (path === '.well-known/ai-plugin.json') return reply.send(pluginManifest(m.tool, toolUrl(context, m)));
  if (path === 'logo.png') return reply.type('image/png').send(LOGO_PNG);
  return undefined;
}

/** A tool's links and routes, as 404 and 405 answers show them. */
export function toolIndex(context: ServeContext, m: MountedTool): Json {
  const url = toolUrl(context, m);
  return {
    tool: m.tool.name,
    openapi: `${url}/openapi.json`,
    plugin: `${url}/.well-known/ai-plugin.json`,
    routes: m.routes,
  };
}

/** Every tool's name and URL. */
export function toolList(context: ServeContext): Json[] {
  return [...context.tools.values()].map((m) => ({ name: m.tool.name, url: `${toolUrl(context, m)}/` }));
}
