/**
 * OpenAPI path templates (`/api/fruit/{name}`): parsed once per function, turned into a fastify route URL
 * when find-my-way can express them, and matched segment by segment otherwise.
 */

export type PathPart = { literal: string } | { param: string };

export interface PathTemplate {
  /** The spec's path with a leading slash, e.g. `/api/fruit/{name}`. */
  path: string;
  /** Segments between slashes (empty segments dropped), each a list of literal and parameter parts. */
  segments: PathPart[][];
  /** Parameter names in order of appearance. */
  params: string[];
  /** Shape that ignores parameter names: functions with equal method and shape share one route. */
  shape: string;
  /** fastify route URL (relative to the tool prefix), or undefined when fastify cannot express it. */
  fastifyPath: string | undefined;
}

export function parseTemplate(rawPath: string): PathTemplate {
  const path = rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  const params: string[] = [];
  const segments: PathPart[][] = [];
  for (const text of path.split('/')) {
    if (text === '') continue;
    const parts: PathPart[] = [];
    let rest = text;
    while (rest !== '') {
      const open = rest.indexOf('{');
      const close = open < 0 ? -1 : rest.indexOf('}', open);
      if (open < 0 || close < 0) {
        parts.push({ literal: rest });
        break;
      }
      if (open > 0) parts.push({ literal: rest.slice(0, open) });
      const name = rest.slice(open + 1, close);
      parts.push({ param: name });
      params.push(name);
      rest = rest.slice(close + 1);
    }
    segments.push(parts);
  }
  const shape = segments
    .map((parts) => parts.map((p) => ('param' in p ? '{}' : p.literal)).join(''))
    .join('/');
  return { path, segments, params, shape, fastifyPath: fastifyPathOf(segments) };
}

/** The fastify (find-my-way) form of a template, with parameters renamed `p0`, `p1`... */
function fastifyPathOf(segments: PathPart[][]): string | undefined {
  let index = 0;
  let out = '';
  for (const parts of segments) {
    out += '/';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if ('param' in part) {
        // Two parameters with nothing between them, or a parameter followed by text that starts like a
        // parameter name, cannot be told apart by find-my-way.
        const next = parts[i + 1];
        if (next !== undefined && ('param' in next || /^[\w$]/.test(next.literal))) return undefined;
        out += `:p${index++}`;
      } else {
        // Reserved in find-my-way static parts (`:` is escaped as `::`); `%` would need decoding rules.
        if (/[*?#%()]/.test(part.literal)) return undefined;
        out += part.literal.replace(/:/g, '::');
      }
    }
  }
  return out === '' ? '/' : out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches decoded request segments against a template; parameter values by name, or undefined. */
export function matchTemplate(
  template: PathTemplate,
  segments: string[],
): Record<string, string> | undefined {
  if (segments.length !== template.segments.length) return undefined;
  const values: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const parts = template.segments[i]!;
    const names: string[] = [];
    const pattern = parts
      .map((p) => {
        if ('param' in p) {
          names.push(p.param);
          return '(.+?)';
        }
        return escapeRegExp(p.literal);
      })
      .join('');
    const match = new RegExp(`^${pattern}$`, 'su').exec(segments[i]!);
    if (match === null) return undefined;
    names.forEach((name, k) => (values[name] = match[k + 1] ?? ''));
  }
  return values;
}

/** Decoded, non-empty segments of a URL path; undefined when a segment is not valid percent-encoding. */
export function pathSegments(rawPath: string): string[] | undefined {
  const out: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '') continue;
    try {
      out.push(decodeURIComponent(segment));
    } catch {
      return undefined;
    }
  }
  return out;
}
