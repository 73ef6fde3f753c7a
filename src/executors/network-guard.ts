/**
 * The real executor's guard against calling this machine or its network: loopback, private, link-local
 * (cloud metadata at 169.254.169.254 included), unspecified, multicast and reserved addresses are refused
 * unless explicitly allowed. The check runs on the addresses a name resolves to, at connection time (a
 * DNS answer cannot change between the check and the connection), and on IP literals in URLs.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, type Dispatcher } from 'undici';

type Category = 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

const RANGES: readonly [Category, string, number, 'ipv4' | 'ipv6'][] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'], // 255.255.255.255 included
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];

const lists = new Map<Category, BlockList>();
for (const [category, network, prefix, family] of RANGES) {
  let list = lists.get(category);
  if (list === undefined) {
    list = new BlockList();
    lists.set(category, list);
  }
  list.addSubnet(network, prefix, family);
}

/** IPv4 addresses embedded in IPv6 forms that reach them (`::ffff:a.b.c.d`, `::ffff:7f00:1`, NAT64). */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1] !== undefined) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] === undefined || hex[2] === undefined) return undefined;
  const high = Number.parseInt(hex[1], 16);
  const low = Number.parseInt(hex[2], 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Why an IP address is off limits (`loopback`, `private`, `link-local`...), or undefined for a public one. */
export function forbiddenAddressCategory(address: string): Category | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  if (family === 0) return undefined;
  const v4 = family === 6 ? embeddedIpv4(bare) : bare;
  for (const [category, list] of lists) {
    if (v4 !== undefined ? list.check(v4, 'ipv4') : list.check(bare, 'ipv6')) return category;
  }
  return undefined;
}

/** A connection refused because the host is (or resolves to) a forbidden address. */
export class ForbiddenAddressError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly category: string,
  ) {
    super(
      host === address
        ? `${address} is a ${category} address`
        : `${host} resolves to ${address}, a ${category} address`,
    );
    this.name = 'ForbiddenAddressError';
  }
}

/** Throws `ForbiddenAddressError` when `hostname` is an IP literal that is off limits. */
export function checkAddressLiteral(hostname: string): void {
  const category = forbiddenAddressCategory(hostname);
  if (category !== undefined) throw new ForbiddenAddressError(hostname, hostname, category);
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** `dns.lookup` that fails with `ForbiddenAddressError` when any address of the name is off limits. */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, []);
      return;
    }
    for (const { address } of addresses) {
      const category = forbiddenAddressCategory(address);
      if (category !== undefined) {
        callback(new ForbiddenAddressError(hostname, address, category) as NodeJS.ErrnoException, []);
        return;
      }
    }
    if (options.all === true) callback(null, addresses);
    else {
      const first = addresses[0];
      if (first === undefined)
        callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
      else callback(null, first.address, first.family);
    }
  });
}

/** Resolves `hostname` and throws `ForbiddenAddressError` when any address is off limits (proxied calls). */
export async function checkResolvedHost(hostname: string): Promise<void> {
  checkAddressLiteral(hostname);
  if (isIP(hostname.replace(/^\[(.*)\]$/, '$1')) !== 0) return;
  await new Promise<void>((resolve, reject) => {
    guardedLookup(hostname, { all: true }, (error) => (error ? reject(error) : resolve()));
  });
}

/** A keep-alive dispatcher whose connections check the addresses they resolve to. */
export function createGuardedDispatcher(): Dispatcher {
  return new Agent({ keepAliveTimeout: 30_000, connect: { lookup: guardedLookup } });
}

/** The `ForbiddenAddressError` in an error's cause chain, if any. */
export function forbiddenAddressIn(error: unknown): ForbiddenAddressError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof ForbiddenAddressError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
