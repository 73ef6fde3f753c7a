/**
 * The Host allow-list of the viewer's server, against DNS rebinding: a page on another site whose name
 * resolves to 127.0.0.1 sends its own name as Host, and is refused. Loopback names are always allowed; a
 * server bound to another address also allows that address and the names given with `--allow-host`.
 * (`serve` gets the same rule; the two will share one module.)
 */

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** True for an address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return LOOPBACK_NAMES.includes(bare) || /^127\.\d+\.\d+\.\d+$/.test(bare) || bare.endsWith('.localhost');
}

/** The host name of a Host header value (`[::1]:8080` → `::1`, `Example.org:80` → `example.org`). */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end < 0 ? value : value.slice(1, end);
  }
  const colon = value.lastIndexOf(':');
  return colon >= 0 && value.indexOf(':') === colon ? value.slice(0, colon) : value;
}

/** A predicate over Host header values for a server bound to `bindHost`. */
export function hostAllowList(
  bindHost: string,
  extra: readonly string[] = [],
): (header: string | undefined) => boolean {
  const allowed = new Set(LOOPBACK_NAMES);
  const bind = bindHost.replace(/^\[|\]$/g, '').toLowerCase();
  if (bind !== '0.0.0.0' && bind !== '::') allowed.add(bind);
  for (const name of extra) allowed.add(hostName(name));
  return (header) => {
    if (header === undefined || header === '') return false;
    const name = hostName(header);
    return allowed.has(name) || (isLoopbackHost(name) && name !== '');
  };
}
