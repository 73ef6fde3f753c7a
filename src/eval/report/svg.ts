/**
 * Grouped bar charts as standalone SVG text (no script, no external font or asset), for the HTML
 * report: one group per category (a tool, or a model), one bar per series, values 0-100 (%).
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

export function barChartSvg(options: BarChartOptions): string {
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
  const legendWidth = series.reduce((sum, s) => sum + 24 + Math.min(40, s.name.length) * 6.5, 0);
  const width = Math.ceil(Math.max(left + plotWidth + 16, left + legendWidth + 16));
  const height = top + plotHeight + labelSpace + legendHeight;
  const y = (value: number): number =>
    top + plotHeight - (Math.min(max, Math.max(0, value)) / max) * plotHeight;
  const parts: string[] = [];
  const id = options.id !== undefined ? ` id="${escapeXml(options.id)}"` : '';
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg"${id} class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(options.title)}" font-family="system-ui, sans-serif" font-size="11">`,
  );
  parts.push(`<title>${escapeXml(options.title)}</title>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
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
      parts.push(
        `<rect class="bar" x="${groupX + k * barWidth}" y="${barY}" width="${barWidth - 2}" height="${Math.max(h, 0.5)}" fill="${s.color}"><title>${escapeXml(`${category} · ${s.name}: ${value.toFixed(1)}${unit}`)}</title></rect>`,
      );
    });
    const labelX = groupX + (series.length * barWidth) / 2;
    const labelY = top + plotHeight + 10;
    parts.push(
      `<text x="${labelX}" y="${labelY}" text-anchor="end" transform="rotate(-40 ${labelX} ${labelY})" fill="#111827">${escapeXml(truncate(category, 24))}</text>`,
    );
  });
  let legendX = left;
  const legendY = height - 10;
  for (const s of series) {
    parts.push(`<rect x="${legendX}" y="${legendY - 9}" width="10" height="10" fill="${s.color}"/>`);
    parts.push(
      `<text x="${legendX + 14}" y="${legendY}" fill="#111827">${escapeXml(truncate(s.name, 40))}</text>`,
    );
    legendX += 24 + Math.min(40, s.name.length) * 6.5;
  }
  parts.push('</svg>');
  return parts.join('');
}
