/**
 * Who may call the server. A browser page from any site can send requests to a server on this machine
 * (DNS rebinding gives it a name that resolves to 127.0.0.1; simple requests need no CORS preflight), and
 * with the `real` executor the server adds API keys to the calls it forwards. So:
 *
 * - the `Host` header must name this server: a loopback name (`localhost`, `127.0.0.1`, `[::1]`, any port),
 *   the address it listens on, the public URL's host, or a name allowed explicitly; else 421;
 * - a browser's cross-site request is refused (403): an `Origin` whose host is not allowed, or
 *   `Sec-Fetch-Site: cross-site` without one;
 * - with a token, every request carries `Authorization: Bearer TOKEN` (401 otherwise). A token is required
 *   to listen on a non-loopback address.
 */
import { timingSafeEqual } from 'node:crypto';
import { InputError } from '../core/errors.js';

/** Host names that always reach this machine's loopback interface. */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** True for an address or name that only this machine can reach (`localhost`, 127.0.0.0/8, `::1`). */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** True for the wildcard addresses that listen on every interface. */
export function isWildcardAddress(host: string): boolean {
  const name = host.replace(/^\[(.*)\]$/, '$1');
  return name === '0.0.0.0' || name === '::' || name === '0:0:0:0:0:0:0:0';
}

/** `name` or `name:port` split; IPv6 names keep their brackets. Lower case. Undefined when malformed. */
export function splitHost(value: string): { name: string; port?: string } | undefined {
  const text = value.trim().toLowerCase();
  if (text === '') return undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    const rest = text.slice(close + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return rest === ''
      ? { name: text.slice(0, close + 1) }
      : { name: text.slice(0, close + 1), port: rest.slice(1) };
  }
  const colon = text.indexOf(':');
  if (colon < 0) return { name: text };
  const port = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port)) return undefined;
  return { name: text.slice(0, colon), port };
}

/** An allowed-host entry: `name`, `name:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; undefined when malformed. */
export function parseAllowedHost(entry: string): { name: string; port?: string } | undefined {
  const text = entry.trim();
  if (!text.startsWith('[') && (text.match(/:/g) ?? []).length > 1) {
    return /^[0-9a-f:.]+$/i.test(text) ? { name: `[${text.toLowerCase()}]` } : undefined;
  }
  const split = splitHost(text);
  return split !== undefined && /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)$/.test(split.name) ? split : undefined;
}

/** A name as `Host` headers write it: lower case, IPv6 addresses in brackets. */
function hostForm(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
}

export interface AccessRules {
  /** Allowed names (any port), lower case, IPv6 in brackets. */
  names: Set<string>;
  /** Allowed `name:port` pairs (an allowed name given with a port). */
  pairs: Set<string>;
  /** The bearer token's bytes, when one is required. */
  token?: Buffer;
  /** Answers for `Host` values seen (clients send the same few), bounded. */
  seen: Map<string, boolean>;
}

const SEEN_LIMIT = 256;

/**
 * The rules for a server listening on `listenHost`: the loopback names, the listen address unless it is a
 * wildcard, `extraHosts` (`name` for any port, `name:port` for one) and the public URL's host.
 */
export function accessRules(options: {
  listenHost: string;
  extraHosts?: readonly string[];
  publicUrl?: string;
  token?: string;
}): AccessRules {
  const names = new Set(LOOPBACK_NAMES);
  const pairs = new Set<string>();
  if (!isWildcardAddress(options.listenHost)) names.add(hostForm(options.listenHost));
  const extra = [...(options.extraHosts ?? [])];
  if (options.publicUrl !== undefined) {
    try {
      extra.push(new URL(options.publicUrl).host);
    } catch {
      // an unparsable public URL adds no host
    }
  }
  for (const entry of extra) {
    const split = parseAllowedHost(entry);
    if (split === undefined) throw new InputError(`allowed host '${entry}': expected NAME or NAME:PORT`);
    if (split.port === undefined) names.add(split.name);
    else pairs.add(`${split.name}:${split.port}`);
  }
  return {
    names,
    pairs,
    seen: new Map(),
    ...(options.token !== undefined ? { token: Buffer.from(options.token, 'utf8') } : {}),
  };
}

/** True when a `Host` header (or an origin's host) names this server. */
export function hostAllowed(rules: AccessRules, value: string | undefined): boolean {
  if (value === undefined) return false;
  let allowed = rules.seen.get(value);
  if (allowed === undefined) {
    allowed = checkHost(rules, value);
    if (rules.seen.size >= SEEN_LIMIT) rules.seen.clear();
    rules.seen.set(value, allowed);
  }
  return allowed;
}

function checkHost(rules: AccessRules, value: string): boolean {
  const split = splitHost(value);
  if (split === undefined) return false;
  if (rules.names.has(split.name)) return true;
  return split.port !== undefined && rules.pairs.has(`${split.name}:${split.port}`);
}

/** True when a browser sent the request from a page of another site. */
export function crossSite(
  rules: AccessRules,
  origin: string | undefined,
  fetchSite: string | undefined,
): boolean {
  if (origin !== undefined) {
    if (origin === 'null') return true;
    try {
      return !hostAllowed(rules, new URL(origin).host);
    } catch {
      return true;
    }
  }
  return fetchSite === 'cross-site';
}

/** True when the `Authorization` header carries the token (always true without one). */
export function tokenAccepted(rules: AccessRules, authorization: string | undefined): boolean {
  if (rules.token === undefined) return true;
  if (authorization === undefined) return false;
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (match === null) return false;
  const given = Buffer.from(match[1] ?? '', 'utf8');
  return given.length === rules.token.length && timingSafeEqual(given, rules.token);
}
