/**
 * Options, defaults and header names of the virtual API server (`createToolServer`).
 */
import type { FastifyInstance } from 'fastify';
import type { McpHttpRouteOptions } from './mcp.js';

export interface ToolServerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Largest request body accepted, in bytes (413 above it). Default 1 MiB. */
  bodyLimit?: number;
  /** Called with one line per request: `METHOD path status ms source`. Default: no logging. */
  log?: (line: string) => void;
  /** Base URL clients use to reach this server (written into openapi.json and ai-plugin.json); its host is allowed. Default: the listen URL. */
  publicUrl?: string;
  /**
   * `Host` names accepted besides the loopback names and the listen address (`name` for any port,
   * `name:port` for one). Requests naming another host get 421.
   */
  allowedHosts?: readonly string[];
  /**
   * Bearer token every request must carry (`Authorization: Bearer TOKEN`; 401 otherwise). Required to
   * listen on an address other than loopback.
   */
  token?: string;
  /**
   * Answers kept for reuse when the executor is deterministic (the schema executor): a request with the same
   * route, URL and argument headers as an earlier one gets the earlier answer without another call. 0 turns
   * it off. Default 1000.
   */
  answerMemoSize?: number;
  /** Also serve the tools as an MCP server (streamable HTTP) at `/mcp`, behind the same checks. */
  mcp?: boolean | Omit<McpHttpRouteOptions, 'log'>;
}

export interface ToolServer {
  app: FastifyInstance;
  /** The listen URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Stop accepting connections, let in-flight requests finish, then resolve. Idempotent. */
  close(): Promise<void>;
}

/** 1 MiB: the default request body limit. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** `ExecutionContext.instanceId` of requests without an `X-Toolalpaca-Instance` header. */
export const DEFAULT_INSTANCE = 'serve';

/** Response header: where the observation came from (`schema`, `simulated`, `replay`, `real`, `cache`...). */
export const SOURCE_HEADER = 'x-toolalpaca-source';
/** Request header: the `ExecutionContext.instanceId` of the call. */
export const INSTANCE_HEADER = 'x-toolalpaca-instance';
/** Response header: arguments that were ignored or coerced. */
export const WARNINGS_HEADER = 'x-toolalpaca-warnings';

/** `http://host:port`, IPv6 hosts in brackets. */
export function listenUrl(host: string, port: number): string {
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
