/**
 * The camera benchmark's plot: p99 frame-to-detection latency and the service's CPU against the
 * number of cameras, one line per setting. Drawn as SVG and rendered to PNG by sharp (librsvg),
 * so no plotting service or browser is needed.
 */
import sharp from 'sharp';

export interface Series {
  readonly name: string;
  /** [cameras, value] */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

const W = 560;
const H = 360;
const M = { left: 60, right: 20, top: 30, bottom: 40 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#000000', '#aec7e8'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** One panel: log2 x axis (1, 2, 4, …cameras), linear y from 0, an optional horizontal limit. */
function panel(title: string, yLabel: string, series: readonly Series[], limit?: number): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(2, ...xs);
  const yMax = Math.max(limit ?? 0, ...ys, 1e-9) * 1.1;
  const px = (x: number): number => M.left + (Math.log2(x) / Math.log2(xMax)) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const ticks = Array.from({ length: Math.floor(Math.log2(xMax)) + 1 }, (_, i) => 2 ** i);
  const parts = [
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`,
    ...ticks.map((t) => `<text x="${px(t)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${t}</text>`),
    `<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="12">cameras</text>`,
    ...[0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${M.left - 6}" y="${py(f * yMax) + 4}" text-anchor="end" font-size="11">${(f * yMax).toFixed(yMax < 10 ? 2 : 0)}</text>`),
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`,
  ];
  if (limit !== undefined) parts.push(`<line x1="${M.left}" y1="${py(limit)}" x2="${W - M.right}" y2="${py(limit)}" stroke="#999" stroke-dasharray="4 3"/>`);
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
    parts.push(...s.points.map(([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`));
    parts.push(`<text x="${M.left + 8}" y="${M.top + 14 + i * 14}" font-size="11" fill="${c}">${esc(s.name)}</text>`);
  });
  return `<g>${parts.join('')}</g>`;
}

/** Two panels side by side, as PNG bytes. */
export async function renderPlot(latency: readonly Series[], cpu: readonly Series[], latencyLimitSec: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panel('p99 frame-to-detection latency', 'seconds', latency, latencyLimitSec)}
<g transform="translate(${W},0)">${panel('service CPU (decode + Node + inference)', 'cores', cpu)}</g>
</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
