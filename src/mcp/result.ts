/**
 * How a `tools/call` result reads as an observation: `structuredContent` when the server gives it (the
 * parsed object, as an HTTP API's JSON body), else the content blocks as text (a single text block that
 * holds JSON is parsed); images, audio and binary resources become a short placeholder naming their type
 * and size, never their bytes. `isError` results are answers with status 400 (the tool said no; the
 * assistant reads why), successful ones 200. Text longer than the cap is cut and marked truncated.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isRecord, tryParseJson } from '../core/json-text.js';

/** Status of a result whose `isError` is set. */
export const MCP_TOOL_ERROR_STATUS = 400;
/** Characters of body text kept by default (as the real executor). */
export const DEFAULT_MAX_BODY_CHARS = 20_000;

export interface McpResultView {
  status: number;
  body: unknown;
  /** `application/json` for an object or array body, `text/plain` otherwise. */
  contentType: string;
  truncated: boolean;
}

type ContentBlock = CallToolResult['content'][number];

/** Bytes of base64 data, without decoding it. */
function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

/** One content block as text. */
export function contentBlockText(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'image':
    case 'audio':
      return `[${block.type} ${block.mimeType}, ${base64Bytes(block.data)} bytes]`;
    case 'resource_link': {
      const about = block.description !== undefined ? `: ${block.description}` : '';
      return `[resource ${block.uri} (${block.name})${about}]`;
    }
    case 'resource': {
      const resource = block.resource;
      if ('text' in resource && typeof resource.text === 'string') return resource.text;
      const blob = 'blob' in resource && typeof resource.blob === 'string' ? resource.blob : '';
      return `[resource ${resource.uri}${resource.mimeType !== undefined ? ` ${resource.mimeType}` : ''}, ${base64Bytes(blob)} bytes]`;
    }
    default:
      return `[${String((block as { type?: unknown }).type)} content]`;
  }
}

/** The result as an observation's status, body and content type (see the module comment). */
export function mcpResultView(
  result: CallToolResult,
  options: { maxBodyChars?: number } = {},
): McpResultView {
  const maxChars = options.maxBodyChars ?? DEFAULT_MAX_BODY_CHARS;
  const status = result.isError === true ? MCP_TOOL_ERROR_STATUS : 200;
  const content = Array.isArray(result.content) ? result.content : [];
  let body: unknown;
  if (result.isError !== true && isRecord(result.structuredContent)) {
    body = result.structuredContent;
  } else {
    const text = content.map(contentBlockText).join('\n');
    const parsed =
      content.length === 1 && content[0]?.type === 'text' ? tryParseJson(text.trim()) : undefined;
    body =
      parsed !== undefined && (isRecord(parsed.value) || Array.isArray(parsed.value)) ? parsed.value : text;
  }
  if (typeof body !== 'string') {
    const json = JSON.stringify(body) ?? '';
    if (json.length <= maxChars) return { status, body, contentType: 'application/json', truncated: false };
    body = json;
  }
  const text = body as string;
  if (text.length > maxChars) {
    return { status, body: text.slice(0, maxChars), contentType: 'text/plain', truncated: true };
  }
  return { status, body: text, contentType: 'text/plain', truncated: false };
}
