/**
 * Outgoing HTTP for the whole process: one keep-alive dispatcher, and the proxy from the environment.
 *
 * `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (either case, lower case first as curl reads them) are
 * honoured, with one addition: loopback hosts never go through the proxy, whatever `NO_PROXY` says. A
 * proxy cannot reach this machine's own servers (a local vLLM, Ollama or llama.cpp server, `toolalpaca
 * serve`), so sending them there could only fail. `NO_PROXY=*` turns the proxy off.
 *
 * Proxy URLs may carry credentials (`http://user:pass@proxy:3128`): they are never echoed in errors.
 */
import { Agent, EnvHttpProxyAgent, setGlobalDispatcher, type Dispatcher } from 'undici';
import { InputError } from './errors.js';

/** Hosts that always connect directly (as undici compares them: lower case, IPv6 in brackets). */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

const KEEP_ALIVE = { keepAliveTimeout: 30_000 } as const;

export interface ProxySettings {
  httpProxy?: string;
  httpsProxy?: string;
  /** Comma-separated hosts that bypass the proxy: the user's `NO_PROXY` plus the loopback hosts. */
  noProxy: string;
}

type Environment = Record<string, string | undefined>;

function variable(env: Environment, lowerName: string): string | undefined {
  const value = env[lowerName] ?? env[lowerName.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function checkedProxyUrl(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value itself is not shown: it may hold a password.
    throw new InputError(`${name} is not a URL (expected e.g. http://proxy.example:3128)`);
  }
  if (!['http:', 'https:', 'socks:', 'socks5:'].includes(url.protocol)) {
    throw new InputError(`${name} must be an http://, https:// or socks5:// URL, not ${url.protocol}//`);
  }
  return value;
}

/** The proxy the environment asks for; undefined when none is set or `NO_PROXY` is `*`. */
export function proxySettings(env: Environment = process.env): ProxySettings | undefined {
  const httpProxy = checkedProxyUrl('HTTP_PROXY', variable(env, 'http_proxy'));
  const httpsProxy = checkedProxyUrl('HTTPS_PROXY', variable(env, 'https_proxy'));
  if (httpProxy === undefined && httpsProxy === undefined) return undefined;
  const userNoProxy = variable(env, 'no_proxy') ?? '';
  if (userNoProxy === '*') return undefined;
  return {
    ...(httpProxy !== undefined ? { httpProxy } : {}),
    ...(httpsProxy !== undefined ? { httpsProxy } : {}),
    noProxy: [userNoProxy, ...LOOPBACK_HOSTS].filter((entry) => entry !== '').join(','),
  };
}

/** A keep-alive dispatcher, proxied as `env` asks. Idle sockets do not keep the process alive. */
export function createHttpDispatcher(env: Environment = process.env): Dispatcher {
  const proxy = proxySettings(env);
  if (proxy === undefined) return new Agent(KEEP_ALIVE);
  // Explicit values, so that only `env` decides (EnvHttpProxyAgent would read process.env otherwise).
  return new EnvHttpProxyAgent({
    ...KEEP_ALIVE,
    httpProxy: proxy.httpProxy ?? '',
    httpsProxy: proxy.httpsProxy ?? proxy.httpProxy ?? '',
    noProxy: proxy.noProxy,
  });
}

let shared: Dispatcher | undefined;

/** The process-wide dispatcher (built on first use from `process.env`). */
export function sharedHttpDispatcher(): Dispatcher {
  shared ??= createHttpDispatcher();
  return shared;
}

/**
 * Sends the global `fetch` (the openai SDK's streamed calls, the real executor, dataset downloads)
 * through the environment's proxy. Without a proxy setting it changes nothing. Returns whether a proxy
 * is now in use; an unusable proxy URL is an InputError.
 */
export function routeFetchThroughEnvironmentProxy(): boolean {
  if (proxySettings() === undefined) return false;
  setGlobalDispatcher(sharedHttpDispatcher());
  return true;
}
