/**
 * Grouped bar charts as standalone SVG text (no script, no external font or asset), shared by the HTML
 * report and the viewer's front end: one group per category (a tool, or a run), one bar per series,
 * values 0-100 (%). Vertical charts (many short categories, such as tools) rotate their labels;
 * horizontal ones (few long categories, such as runs) write each label in full on up to three lines.
 * A bar may link somewhere (the viewer's filtered list of the items it counts).
 */

export interface BarSeries {
  name: string;
  color: string;
  /** One value per category; undefined draws no bar. */
  values: (number | undefined)[];
}

export interface BarChartOptions {
  title: string;
  categories: string[];
  series: BarSeries[];
  /** Top of the scale (default 100). */
  max?: number;
  /** Appended to tick labels (default "%"). */
  unit?: string;
  /** Used as the element id (for tests and links). */
  id?: string;
  /** `vertical` (default): bars go up, labels rotated; `horizontal`: bars go right, labels in full. */
  orientation?: 'vertical' | 'horizontal';
  /** Where a bar links to, if anywhere. */
  link?: (category: number, series: number) => string | undefined;
  /** Where a category label links to, if anywhere. */
  categoryLink?: (category: number) => string | undefined;
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Colours of the usual series, readable on white and distinct in grey scale. */
export const SERIES_COLORS = ['#2563eb', '#f59e0b', '#16a34a', '#9333ea', '#dc2626', '#0891b2'];

/** Splits `text` into lines of at most `width` characters at spaces (a longer word is cut), at most `max` lines. */
export function wrapLabel(text: string, width: number, max = 3): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = '';
  for (let word of words) {
    while (word.length > width) {
      if (line !== '') {
        lines.push(line);
        line = '';
      }
      lines.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  if (lines.length <= max) return lines;
  const kept = lines.slice(0, max);
  kept[max - 1] = truncate(`${kept[max - 1] ?? ''} ${lines.slice(max).join(' ')}`, width);
  return kept;
}

function anchor(href: string | undefined, inner: string): string {
  return href === undefined ? inner : `<a href="${escapeXml(href)}">${inner}</a>`;
}

function legend(series: readonly BarSeries[], x: number, y: number): string[] {
  const parts: string[] = [];
  let legendX = x;
  for (const s of series) {
    parts.push(`<rect x="${legendX}" y="${y - 9}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${legendX + 14}" y="${y}" fill="#111827">${escapeXml(truncate(s.name, 40))}</text>`);
    legendX += 24 + Math.min(40, s.name.length) * 6.5;
  }
  return parts;
}

function legendWidth(series: readonly BarSeries[]): number {
  return series.reduce((sum, s) => sum + 24 + Math.min(40, s.name.length) * 6.5, 0);
}

function open(options: BarChartOptions, width: number, height: number): string[] {
  const id = options.id !== undefined ? ` id="${escapeXml(options.id)}"` : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg"${id} class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
}

function barTitle(category: string, series: string, value: number, unit: string): string {
  return `<title>${escapeXml(`${category} · ${series}: ${value.toFixed(1)}${unit}`)}</title>`;
}

export function barChartSvg(options: BarChartOptions): string {
  return options.orientation === 'horizontal' ? horizontalChart(options) : verticalChart(options);
}

function verticalChart(options: BarChartOptions): string {
  const max = options.max ?? 100;
  const unit = options.unit ?? '%';
  const { categories, series } = options;
  const barWidth = 14;
  const groupGap = 18;
  const groupWidth = Math.max(1, series.length) * barWidth + groupGap;
  // Category labels are rotated -40°: the first one reaches left of its group by about 0.77 × its width.
  const longest = Math.max(0, ...categories.map((c) => Math.min(24, c.length)));
  const left = Math.max(48, Math.ceil(longest * 6.2 * 0.77 - groupWidth / 2 + 8));
  const top = 40;
  const plotHeight = 200;
  const labelSpace = 110;
  const legendHeight = 24;
  const plotWidth = Math.max(240, categories.length * groupWidth);
  const width = Math.ceil(Math.max(left + plotWidth + 16, left + legendWidth(series) + 16));
  const height = top + plotHeight + labelSpace + legendHeight;
  const y = (value: number): number =>
    top + plotHeight - (Math.min(max, Math.max(0, value)) / max) * plotHeight;
  const parts = open(options, width, height);
  parts.push(
    `<text x="${left}" y="20" font-size="14" font-weight="600" fill="#111827">${escapeXml(options.title)}</text>`,
  );
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max / 4) * tick;
    const ty = y(value);
    parts.push(
      `<line x1="${left}" y1="${ty}" x2="${left + plotWidth}" y2="${ty}" stroke="${tick === 0 ? '#6b7280' : '#e5e7eb'}" stroke-width="1"/>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${ty + 4}" text-anchor="end" fill="#4b5563">${Math.round(value)}${escapeXml(unit)}</text>`,
    );
  }
  categories.forEach((category, c) => {
    const groupX = left + c * groupWidth + groupGap / 2;
    series.forEach((s, k) => {
      const value = s.values[c];
      if (value === undefined || !Number.isFinite(value)) return;
      const barY = y(value);
      const h = top + plotHeight - barY;
      const rect = `<rect class="bar" x="${groupX + k * barWidth}" y="${barY}" width="${barWidth - 2}" height="${Math.max(h, 0.5)}" fill="${s.color}">${barTitle(category, s.name, value, unit)}</rect>`;
      parts.push(anchor(options.link?.(c, k), rect));
    });
    const labelX = groupX + (series.length * barWidth) / 2;
    const labelY = top + plotHeight + 10;
    const label = `<text x="${labelX}" y="${labelY}" text-anchor="end" transform="rotate(-40 ${labelX} ${labelY})" fill="#111827">${escapeXml(truncate(category, 24))}<title>${escapeXml(category)}</title></text>`;
    parts.push(anchor(options.categoryLink?.(c), label));
  });
  parts.push(...legend(series, left, height - 10));
  parts.push('</svg>');
  return parts.join('');
}

/** Rows of bars with each category's label written in full (wrapped) on the left. */
function horizontalChart(options: BarChartOptions): string {
  const max = options.max ?? 100;
  const unit = options.unit ?? '%';
  const { categories, series } = options;
  const labelChars = 36;
  const lineHeight = 14;
  const wrapped = categories.map((c) => wrapLabel(c, labelChars));
  const longest = Math.max(8, ...wrapped.flat().map((line) => line.length));
  const left = Math.ceil(longest * 6.4) + 20;
  const plotWidth = 360;
  const barHeight = 12;
  const groupGap = 14;
  const top = 44;
  const groupHeights = wrapped.map(
    (lines) => Math.max(Math.max(1, series.length) * barHeight, lines.length * lineHeight) + groupGap,
  );
  const plotHeight = Math.max(
    40,
    groupHeights.reduce((sum, h) => sum + h, 0),
  );
  const width = Math.ceil(Math.max(left + plotWidth + 70, 16 + legendWidth(series) + 16));
  const height = top + plotHeight + 24 + 28;
  const x = (value: number): number => left + (Math.min(max, Math.max(0, value)) / max) * plotWidth;
  const parts = open(options, width, height);
  parts.push(
    `<text x="16" y="20" font-size="14" font-weight="600" fill="#111827">${escapeXml(options.title)}</text>`,
  );
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max / 4) * tick;
    const tx = x(value);
    parts.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${top + plotHeight}" stroke="${tick === 0 ? '#6b7280' : '#e5e7eb'}" stroke-width="1"/>`,
    );
    parts.push(
      `<text x="${tx}" y="${top + plotHeight + 14}" text-anchor="middle" fill="#4b5563">${Math.round(value)}${escapeXml(unit)}</text>`,
    );
  }
  let groupY = top;
  categories.forEach((category, c) => {
    const lines = wrapped[c] ?? [];
    const inner = groupHeights[c] as number;
    const barsHeight = Math.max(1, series.length) * barHeight;
    const barsTop = groupY + (inner - groupGap - barsHeight) / 2;
    series.forEach((s, k) => {
      const value = s.values[c];
      if (value === undefined || !Number.isFinite(value)) return;
      const w = Math.max(x(value) - left, 0.5);
      const by = barsTop + k * barHeight;
      const rect = `<rect class="bar" x="${left}" y="${by}" width="${w}" height="${barHeight - 2}" fill="${s.color}">${barTitle(category, s.name, value, unit)}</rect>`;
      parts.push(anchor(options.link?.(c, k), rect));
      parts.push(
        `<text x="${left + w + 4}" y="${by + barHeight - 3}" fill="#374151" font-size="10">${value.toFixed(1)}${escapeXml(unit)}</text>`,
      );
    });
    const textTop = groupY + (inner - groupGap - lines.length * lineHeight) / 2 + lineHeight - 3;
    const tspans = lines
      .map((line, i) => `<tspan x="${left - 8}" y="${textTop + i * lineHeight}">${escapeXml(line)}</tspan>`)
      .join('');
    const label = `<text class="category" text-anchor="end" fill="#111827">${tspans}<title>${escapeXml(category)}</title></text>`;
    parts.push(anchor(options.categoryLink?.(c), label));
    groupY += inner;
  });
  parts.push(...legend(series, 16, height - 10));
  parts.push('</svg>');
  return parts.join('');
}
