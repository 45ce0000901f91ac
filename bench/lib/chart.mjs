// A small dependency-free line-chart renderer for benchmark results. `lineChartSvg` builds an SVG
// document (markers at the points, "nice" axis ticks, linear or log10 axes, gridlines, a legend,
// dashed target lines); `renderCharts` writes those SVGs and PNGs of them, screenshotted by
// headless Chromium.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/harness/chromium.js';

/**
 * @typedef {[number, number]} Point
 * @typedef {{ name: string, points: Point[] }} Series
 * @typedef {{ y: number, label: string }} HLine
 * @typedef {{
 *   title: string, xLabel: string, yLabel: string, series: Series[], xLog?: boolean,
 *   yLog?: boolean, width?: number, height?: number, hLines?: HLine[],
 * }} Chart
 * @typedef {{ lo: number, hi: number, log: boolean, ticks: number[], minor: number[],
 *   format: (v: number) => string }} Axis
 */

/** The chart's size in CSS pixels. */
function chartSize(chart) {
  return {
    width: Math.max(200, Math.round(chart.width ?? 900)),
    height: Math.max(150, Math.round(chart.height ?? 500)),
  };
}

/** Okabe–Ito, a colour-blind-friendly palette (its yellow left out: too pale on white). */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
/** Marker shapes, so that series stay apart in greyscale too (5 shapes × 7 colours). */
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'triangleDown'];

const FONT = 'sans-serif';
const TITLE_SIZE = 18;
const LABEL_SIZE = 13;
const TICK_SIZE = 12;
const LEGEND_SIZE = 12;
const HLINE_SIZE = 11;
const PAD = 16;
const TICK_LEN = 5;
const TEXT_COLOR = '#222';
const MUTED_COLOR = '#555';
const GRID_COLOR = '#e3e3e3';
const MINOR_GRID_COLOR = '#f1f1f1';
const AXIS_COLOR = '#444';
const HLINE_COLOR = '#444';
const MINUS = '\u2212';

/**
 * Approximate rendered width of `text` (no layout engine here): sans-serif (DejaVu Sans on Debian,
 * Arial/Helvetica elsewhere) averages a little over 0.6 em per character.
 * @param {string} text
 * @param {number} size
 */
function textWidth(text, size) {
  return [...text].length * size * 0.62;
}

/**
 * Escapes text for XML (content and attribute values) and drops characters XML cannot hold.
 * @param {unknown} value
 */
function esc(value) {
  return (
    String(value ?? '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;')
  );
}

/** A coordinate, rounded for a compact document. @param {number} v */
function num(v) {
  return String(Math.round(v * 100) / 100);
}

/** Drops float noise such as 0.30000000000000004. @param {number} v */
function clean(v) {
  const c = Number(v.toPrecision(12));
  return Object.is(c, -0) ? 0 : c;
}

/**
 * Truncates `text` with an ellipsis to fit `maxWidth` (estimated).
 * @param {string} text
 * @param {number} size
 * @param {number} maxWidth
 */
function fit(text, size, maxWidth) {
  if (textWidth(text, size) <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && textWidth(chars.join('') + '…', size) > maxWidth) chars.pop();
  return chars.join('') + '…';
}

// ---------------------------------------------------------------------------------------------
// Number formatting

/**
 * Formats `v` with a fixed number of decimals, thousands separators, a k/M/G suffix when `unit`
 * is 1e3/1e6/1e9, and a real minus sign.
 * @param {number} v
 * @param {number} decimals
 * @param {number} unit
 */
function formatNumber(v, decimals, unit) {
  const suffix = unit === 1e9 ? 'G' : unit === 1e6 ? 'M' : unit === 1e3 ? 'k' : '';
  const scaled = clean(v / unit);
  const text = Math.abs(scaled).toLocaleString('en-US', {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
  if (/^[0.,]*$/.test(text)) return unit === 1 ? text : '0';
  return (scaled < 0 ? MINUS : '') + text + suffix;
}

/** Decimals needed to show multiples of `step` exactly. @param {number} step */
function decimalsFor(step) {
  return Math.min(20, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

/** Formatter for a linear axis: shared decimals and suffix, from the tick step. */
function linearFormat(
  /** @type {number} */ lo,
  /** @type {number} */ hi,
  /** @type {number} */ step,
) {
  const maxAbs = Math.max(Math.abs(lo), Math.abs(hi));
  const unit = maxAbs >= 1e10 ? 1e9 : maxAbs >= 1e7 ? 1e6 : maxAbs >= 1e4 ? 1e3 : 1;
  const decimals = decimalsFor(step / unit);
  return (/** @type {number} */ v) => formatNumber(v, decimals, unit);
}

/** Formatter for a log axis: each tick on its own (1, 2, 5, 10 … 500, 1k, 2k … 1M). */
function logFormat(/** @type {number} */ v) {
  const unit = v >= 1e9 ? 1e9 : v >= 1e6 ? 1e6 : v >= 1e3 ? 1e3 : 1;
  const scaled = v / unit;
  return formatNumber(v, decimalsFor(scaled), unit);
}

// ---------------------------------------------------------------------------------------------
// Axes

/** The 1, 2, 5, 10, 20, 50 … step nearest above `rough`. @param {number} rough */
function niceStep(rough) {
  const p = 10 ** Math.floor(Math.log10(rough));
  const f = rough / p;
  return clean((f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10) * p);
}

/**
 * Linear axis over [min, max] (min < max) with about `count` intervals, ends rounded out to the step.
 * @param {number} min
 * @param {number} max
 * @param {number} count
 */
function niceLinear(min, max, count) {
  let step = niceStep((max - min) / count);
  let lo = Math.floor(min / step + 1e-9) * step;
  let hi = Math.ceil(max / step - 1e-9) * step;
  step = niceStep((hi - lo) / count);
  lo = clean(Math.floor(min / step + 1e-9) * step);
  hi = clean(Math.ceil(max / step - 1e-9) * step);
  /** @type {number[]} */
  const ticks = [];
  for (let i = Math.round(lo / step); i <= Math.round(hi / step); i++) ticks.push(clean(i * step));
  return { lo, hi, step, ticks };
}

/**
 * The linear axis with the most ticks whose labels do not crowd each other.
 * @param {number} min
 * @param {number} max
 * @param {number} lengthPx
 * @param {(label: string) => number} extent label size along the axis, in px
 * @returns {Axis}
 */
function linearAxis(min, max, lengthPx, extent) {
  if (!(max > min)) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  /** @type {Axis | undefined} */
  let best;
  for (let count = Math.max(2, Math.floor(lengthPx / 40)); count >= 1; count--) {
    const { lo, hi, step, ticks } = niceLinear(min, max, count);
    const format = linearFormat(lo, hi, step);
    const spacing = (lengthPx * step) / (hi - lo);
    const widest = Math.max(...ticks.map((t) => extent(format(t))));
    best = { lo, hi, log: false, ticks, minor: [], format };
    if (spacing >= widest + 10 && ticks.length <= 12) break;
  }
  return /** @type {Axis} */ (best);
}

/** The k-th value of the 1-2-5 sequence (k = 0 → 1, 1 → 2, 2 → 5, 3 → 10, −1 → 0.5 …). */
function seq125(/** @type {number} */ k) {
  const decade = Math.floor(k / 3);
  return clean([1, 2, 5][k - decade * 3] * 10 ** decade);
}

/** The largest k with seq125(k) ≤ v. @param {number} v */
function index125(v) {
  const d = Math.floor(Math.log10(v));
  const m = v / 10 ** d;
  let k = 3 * d + (m >= 5 ? 2 : m >= 2 ? 1 : 0);
  while (seq125(k + 1) <= v * (1 + 1e-9)) k++;
  while (seq125(k) > v * (1 + 1e-9)) k--;
  return k;
}

/**
 * Log10 axis: ends on the 1-2-5 sequence; labels on 1-2-5 ticks when they fit, else on powers of
 * ten (every one, or every 2nd, 3rd …); gridlines for 1…9 of each decade in between.
 * @param {number} min
 * @param {number} max
 * @param {number} lengthPx
 * @param {(label: string) => number} extent
 * @returns {Axis}
 */
function logAxis(min, max, lengthPx, extent) {
  let kLo = index125(min);
  let kHi = index125(max);
  if (seq125(kHi) < max * (1 - 1e-9)) kHi++;
  if (kLo === kHi) {
    kLo--;
    kHi++;
  }
  const lo = seq125(kLo);
  const hi = seq125(kHi);
  const span = Math.log10(hi / lo);
  const px = (/** @type {number} */ v) => (lengthPx * Math.log10(v)) / span;
  const fits = (/** @type {number[]} */ ticks) =>
    ticks.every(
      (t, i) =>
        i === 0 ||
        px(t) - px(ticks[i - 1]) >=
          extent(logFormat(t)) / 2 + extent(logFormat(ticks[i - 1])) / 2 + 10,
    );

  /** @type {number[]} */
  const all125 = [];
  for (let k = kLo; k <= kHi; k++) all125.push(seq125(k));
  const dLo = Math.ceil(Math.log10(lo) - 1e-9);
  const dHi = Math.floor(Math.log10(hi) + 1e-9);
  /** @type {number[][]} */
  const candidates = [all125];
  for (let every = 1; every <= Math.max(1, dHi - dLo); every++) {
    /** @type {number[]} */
    const powers = [];
    for (let d = dLo; d <= dHi; d++) if ((d - dLo) % every === 0) powers.push(clean(10 ** d));
    if (powers.length >= 1) candidates.push(powers);
  }
  let ticks = candidates[candidates.length - 1];
  for (const c of candidates) {
    if (c.length >= 2 && fits(c)) {
      ticks = c;
      break;
    }
  }
  if (ticks.length === 0) ticks = [lo, hi];

  const major = new Set(ticks);
  /** @type {number[]} */
  const minor = [];
  for (let d = Math.floor(Math.log10(lo)) - 1; d <= dHi; d++) {
    for (let m = 1; m <= 9; m++) {
      const v = clean(m * 10 ** d);
      if (v > lo * (1 + 1e-9) && v < hi * (1 - 1e-9) && !major.has(v)) minor.push(v);
    }
  }
  // Minor lines packed into narrow decades would be noise: only where a decade is wide.
  const roomy = lengthPx / span >= 120;
  return { lo, hi, log: true, ticks, minor: roomy ? minor : [], format: logFormat };
}

/**
 * @param {number[]} values
 * @param {boolean} log
 * @param {boolean} includeZero pull a linear axis to 0 when the data lies well on one side of it
 * @param {number} lengthPx
 * @param {(label: string) => number} extent
 * @returns {Axis}
 */
function buildAxis(values, log, includeZero, lengthPx, extent) {
  if (log) {
    const positive = values.filter((v) => v > 0);
    if (positive.length === 0) return logAxis(1, 10, lengthPx, extent);
    return logAxis(Math.min(...positive), Math.max(...positive), lengthPx, extent);
  }
  if (values.length === 0) return linearAxis(0, 1, lengthPx, extent);
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (includeZero) {
    if (min >= 0 && (min === max || min <= max / 2)) min = 0;
    else if (max <= 0 && (min === max || max >= min / 2)) max = 0;
  }
  return linearAxis(min, max, lengthPx, extent);
}

/**
 * Maps a value on `axis` to a pixel between `from` and `to`.
 * @param {Axis} axis
 * @param {number} from
 * @param {number} to
 */
function scale(axis, from, to) {
  if (axis.log) {
    const a = Math.log10(axis.lo);
    const span = Math.log10(axis.hi) - a;
    return (/** @type {number} */ v) => from + ((Math.log10(v) - a) / span) * (to - from);
  }
  return (/** @type {number} */ v) => from + ((v - axis.lo) / (axis.hi - axis.lo)) * (to - from);
}

// ---------------------------------------------------------------------------------------------
// Drawing

/**
 * One SVG element; number attributes are rounded, `content` must already be escaped.
 * @param {string} tag
 * @param {Record<string, string | number | undefined>} attrs
 * @param {string} [content]
 */
function el(tag, attrs, content) {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : v}"`)
    .join('');
  return content === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${content}</${tag}>`;
}

/** @param {number[][]} pts */
function pointList(pts) {
  return pts.map(([a, b]) => `${num(a)},${num(b)}`).join(' ');
}

/**
 * A marker of `shape` centred on (x, y), about `r` in radius, with a white outline.
 * @param {string} shape
 * @param {number} x
 * @param {number} y
 * @param {number} r
 * @param {string} color
 */
function marker(shape, x, y, r, color) {
  const style = { fill: color, stroke: '#fff', 'stroke-width': 1 };
  switch (shape) {
    case 'square': {
      const h = r * 0.9;
      return el('rect', { x: x - h, y: y - h, width: 2 * h, height: 2 * h, ...style });
    }
    case 'triangle':
    case 'triangleDown': {
      const s = shape === 'triangle' ? 1 : -1;
      const t = r * 1.25;
      const pts = [
        [x, y - s * t],
        [x + t * 0.866, y + s * t * 0.5],
        [x - t * 0.866, y + s * t * 0.5],
      ];
      return el('polygon', { points: pointList(pts), ...style });
    }
    case 'diamond': {
      const d = r * 1.25;
      const pts = [
        [x, y - d],
        [x + d, y],
        [x, y + d],
        [x - d, y],
      ];
      return el('polygon', { points: pointList(pts), ...style });
    }
    default:
      return el('circle', { cx: x, cy: y, r, ...style });
  }
}

/** @param {number} x1 @param {number} y1 @param {number} x2 @param {number} y2 */
function line(x1, y1, x2, y2, attrs = {}) {
  return el('line', { x1, y1, x2, y2, ...attrs });
}

/** True when `p` is a pair of finite numbers. @param {unknown} p @returns {p is Point} */
function isPoint(p) {
  return (
    Array.isArray(p) &&
    typeof p[0] === 'number' &&
    typeof p[1] === 'number' &&
    Number.isFinite(p[0]) &&
    Number.isFinite(p[1])
  );
}

/**
 * Renders a line chart as a standalone SVG document: title, legend (rows under the title), plot
 * with gridlines, axes with tick labels and axis labels, dashed target lines with their labels.
 * Points that are not two finite numbers (or not positive on a log axis) are left out, and so are
 * series with no points left.
 * @param {Chart} chart
 * @returns {string} an SVG document
 */
export function lineChartSvg(chart) {
  const { width, height } = chartSize(chart);
  const xLog = Boolean(chart.xLog);
  const yLog = Boolean(chart.yLog);
  const title = String(chart.title ?? '');
  const xLabel = String(chart.xLabel ?? '');
  const yLabel = String(chart.yLabel ?? '');

  // Series keep the colour/marker of their position even when an earlier one is skipped.
  const series = (chart.series ?? [])
    .map((s, i) => ({
      name: String(s?.name ?? `series ${i + 1}`),
      color: PALETTE[i % PALETTE.length],
      shape: MARKERS[i % MARKERS.length],
      points: (s?.points ?? [])
        .filter(isPoint)
        .filter(([x, y]) => (!xLog || x > 0) && (!yLog || y > 0))
        .map(([x, y]) => /** @type {Point} */ ([x, y]))
        .sort((a, b) => a[0] - b[0]),
    }))
    .filter((s) => s.points.length > 0);
  const hLines = (chart.hLines ?? []).filter(
    (h) => h && typeof h.y === 'number' && Number.isFinite(h.y) && (!yLog || h.y > 0),
  );

  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...hLines.map((h) => h.y)];

  // Legend: items in rows under the title, wrapped to the chart's width, each row centred.
  const swatch = 26;
  const itemGap = 22;
  const rowHeight = LEGEND_SIZE + 8;
  const maxRow = width - 2 * PAD;
  const items = series.map((s) => {
    const name = fit(s.name, LEGEND_SIZE, maxRow - swatch - 6);
    return { s, name, w: swatch + 6 + textWidth(name, LEGEND_SIZE) };
  });
  /** @type {(typeof items)[]} */
  const rows = [];
  for (const item of items) {
    const row = rows[rows.length - 1];
    const used = row ? row.reduce((sum, i) => sum + i.w + itemGap, 0) : Infinity;
    if (used + item.w <= maxRow) row.push(item);
    else rows.push([item]);
  }
  const legendTop = title ? PAD + TITLE_SIZE + 12 : PAD;

  // Vertical layout first: the y ticks depend on the plot height only.
  const top = legendTop + rows.length * rowHeight + (rows.length > 0 || title ? 12 : 8);
  const bottom = height - PAD - (xLabel ? LABEL_SIZE + 10 : 0) - TICK_SIZE - TICK_LEN - 8;
  const yAxis = buildAxis(ys, yLog, true, bottom - top, () => TICK_SIZE * 1.3);
  const yTickWidth = Math.max(...yAxis.ticks.map((t) => textWidth(yAxis.format(t), TICK_SIZE)));
  const left = PAD + (yLabel ? LABEL_SIZE + 12 : 0) + yTickWidth + TICK_LEN + 6;

  // Then horizontal; the last x label is centred on the plot's right edge: leave it room.
  const xExtent = (/** @type {string} */ l) => textWidth(l, TICK_SIZE);
  let right = width - PAD - 12;
  let xAxis = buildAxis(xs, xLog, false, right - left, xExtent);
  const lastHalf = xExtent(xAxis.format(xAxis.ticks[xAxis.ticks.length - 1])) / 2;
  if (width - PAD - right < lastHalf) {
    right = width - PAD - lastHalf;
    xAxis = buildAxis(xs, xLog, false, right - left, xExtent);
  }

  const sx = scale(xAxis, left, right);
  const sy = scale(yAxis, bottom, top);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="${FONT}" fill="${TEXT_COLOR}">`,
    el('title', {}, esc(title)),
    el('rect', { width, height, fill: '#fff' }),
  ];

  // Gridlines (minor ones only on log axes), then the axes with their ticks.
  out.push('<g stroke-width="1" shape-rendering="crispEdges">');
  const minorStyle = { stroke: MINOR_GRID_COLOR };
  const gridStyle = { stroke: GRID_COLOR };
  for (const v of xAxis.minor) out.push(line(sx(v), top, sx(v), bottom, minorStyle));
  for (const v of yAxis.minor) out.push(line(left, sy(v), right, sy(v), minorStyle));
  for (const v of xAxis.ticks) out.push(line(sx(v), top, sx(v), bottom, gridStyle));
  for (const v of yAxis.ticks) out.push(line(left, sy(v), right, sy(v), gridStyle));
  out.push('</g>');
  out.push(`<g stroke="${AXIS_COLOR}" stroke-width="1" shape-rendering="crispEdges">`);
  out.push(line(left, bottom, right, bottom), line(left, top, left, bottom));
  for (const v of xAxis.ticks) out.push(line(sx(v), bottom, sx(v), bottom + TICK_LEN));
  for (const v of yAxis.ticks) out.push(line(left - TICK_LEN, sy(v), left, sy(v)));
  out.push('</g>');
  out.push(`<g font-size="${TICK_SIZE}" fill="${MUTED_COLOR}">`);
  const xTickY = bottom + TICK_LEN + 4 + TICK_SIZE * 0.9;
  for (const v of xAxis.ticks) {
    const attrs = { x: sx(v), y: xTickY, 'text-anchor': 'middle' };
    out.push(el('text', attrs, esc(xAxis.format(v))));
  }
  for (const v of yAxis.ticks) {
    const attrs = { x: left - TICK_LEN - 4, y: sy(v) + TICK_SIZE * 0.35, 'text-anchor': 'end' };
    out.push(el('text', attrs, esc(yAxis.format(v))));
  }
  out.push('</g>');

  // Title and axis labels.
  if (title) {
    const attrs = { x: width / 2, y: PAD + TITLE_SIZE, 'text-anchor': 'middle' };
    const style = { 'font-size': TITLE_SIZE, 'font-weight': 'bold' };
    out.push(el('text', { ...attrs, ...style }, esc(fit(title, TITLE_SIZE, width - 2 * PAD))));
  }
  if (xLabel) {
    const attrs = { x: (left + right) / 2, y: height - PAD, 'text-anchor': 'middle' };
    const t = fit(xLabel, LABEL_SIZE, right - left);
    out.push(el('text', { ...attrs, 'font-size': LABEL_SIZE }, esc(t)));
  }
  if (yLabel) {
    const x = PAD + LABEL_SIZE - 2;
    const y = (top + bottom) / 2;
    const attrs = { x, y, 'text-anchor': 'middle', 'font-size': LABEL_SIZE };
    const transform = `rotate(-90 ${num(x)} ${num(y)})`;
    out.push(el('text', { ...attrs, transform }, esc(fit(yLabel, LABEL_SIZE, bottom - top))));
  }

  // Target lines go under the data, their labels (with a white halo) over it. A label sits above
  // its line at the right end, else below it, else at the left end: wherever it hits no other.
  /** @type {{ x1: number, x2: number, y1: number, y2: number }[]} */
  const placed = [];
  const hLabels = [];
  for (const h of [...hLines].sort((a, b) => b.y - a.y)) {
    const y = sy(h.y);
    out.push(
      line(left, y, right, y, {
        stroke: HLINE_COLOR,
        'stroke-width': 1.5,
        'stroke-dasharray': '6 4',
      }),
    );
    const label = fit(String(h.label ?? ''), HLINE_SIZE, (right - left) * 0.6);
    if (!label) continue;
    const w = textWidth(label, HLINE_SIZE);
    const above = y - 4;
    const below = y + HLINE_SIZE + 2;
    const box = (/** @type {{ x: number, anchor: string, base: number }} */ o) => ({
      x1: o.anchor === 'end' ? o.x - w : o.x,
      x2: o.anchor === 'end' ? o.x : o.x + w,
      y1: o.base - HLINE_SIZE,
      y2: o.base + 2,
    });
    const options = [
      { x: right - 4, anchor: 'end', base: above },
      { x: right - 4, anchor: 'end', base: below },
      { x: left + 4, anchor: 'start', base: above },
      { x: left + 4, anchor: 'start', base: below },
    ].filter((o) => o.base - HLINE_SIZE >= top - 2 && o.base <= bottom - 2);
    const free = options.find((o) => {
      const b = box(o);
      return placed.every((p) => b.x2 < p.x1 || b.x1 > p.x2 || b.y2 < p.y1 || b.y1 > p.y2);
    });
    const pick = free ?? options[0] ?? { x: right - 4, anchor: 'end', base: above };
    placed.push(box(pick));
    hLabels.push(
      el(
        'text',
        {
          x: pick.x,
          y: pick.base,
          'text-anchor': pick.anchor,
          'font-size': HLINE_SIZE,
          fill: HLINE_COLOR,
          stroke: '#fff',
          'stroke-width': 3,
          'stroke-linejoin': 'round',
          'paint-order': 'stroke',
        },
        esc(label),
      ),
    );
  }

  // Data: a line through the points (sorted by x), a marker on each.
  for (const s of series) {
    const r = s.points.length > 60 ? 2.2 : 3.5;
    out.push('<g>');
    if (s.points.length > 1) {
      out.push(
        el('polyline', {
          points: pointList(s.points.map(([x, y]) => [sx(x), sy(y)])),
          fill: 'none',
          stroke: s.color,
          'stroke-width': 2,
          'stroke-linejoin': 'round',
          'stroke-linecap': 'round',
        }),
      );
    }
    for (const [x, y] of s.points) out.push(marker(s.shape, sx(x), sy(y), r, s.color));
    out.push('</g>');
  }
  out.push(...hLabels);

  if (series.length === 0) {
    const attrs = { x: (left + right) / 2, y: (top + bottom) / 2, 'text-anchor': 'middle' };
    out.push(el('text', { ...attrs, 'font-size': LABEL_SIZE, fill: MUTED_COLOR }, 'no data'));
  }

  // Legend.
  out.push(`<g font-size="${LEGEND_SIZE}">`);
  rows.forEach((row, r) => {
    const rowWidth = row.reduce((sum, i) => sum + i.w, 0) + itemGap * (row.length - 1);
    let x = (width - rowWidth) / 2;
    const cy = legendTop + r * rowHeight + rowHeight / 2;
    for (const { s, name, w } of row) {
      out.push(line(x, cy, x + swatch, cy, { stroke: s.color, 'stroke-width': 2 }));
      out.push(marker(s.shape, x + swatch / 2, cy, 3.5, s.color));
      out.push(el('text', { x: x + swatch + 6, y: cy + LEGEND_SIZE * 0.35 }, esc(name)));
      x += w + itemGap;
    }
  });
  out.push('</g>');

  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Writes each chart as SVG (beside the PNG, same name with .svg) and as PNG, rendered by headless
 * Chromium at device scale factor 2. One browser serves all the charts; it is always closed.
 * @param {{ chart: Chart, pngPath: string }[]} charts
 * @returns {Promise<void>}
 */
export async function renderCharts(charts) {
  if (charts.length === 0) return;
  // Rendering a static SVG needs no WebRTC, so unlike launchChromium() this does not insist on
  // the test network namespace; nothing is fetched (the SVG is handed over as a data: URL).
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const context = await browser.newContext({
      deviceScaleFactor: 2,
      viewport: { width: 900, height: 500 },
    });
    const page = await context.newPage();
    for (const { chart, pngPath } of charts) {
      const svg = lineChartSvg(chart);
      const ext = extname(pngPath);
      const svgPath = (ext ? pngPath.slice(0, -ext.length) : pngPath) + '.svg';
      await mkdir(dirname(pngPath), { recursive: true });
      await writeFile(svgPath, svg);

      const { width, height } = chartSize(chart);
      await page.setViewportSize({ width, height });
      // As an <img>, the SVG is parsed as XML: a malformed document fails to load instead of
      // being patched up by the HTML parser.
      const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
      await page.setContent(
        '<!doctype html><html><head><meta charset="utf-8"><style>' +
          'html,body{margin:0;background:#fff}img{display:block}</style></head><body>' +
          `<img id="chart" width="${width}" height="${height}" src="${src}"></body></html>`,
      );
      const img = page.locator('#chart');
      const loaded = await img.evaluate(
        (el) =>
          /** @type {HTMLImageElement} */ (el).complete &&
          /** @type {HTMLImageElement} */ (el).naturalWidth > 0,
      );
      if (!loaded) throw new Error(`chart SVG for ${pngPath} did not load (malformed?)`);
      await img.screenshot({ path: pngPath });
    }
  } finally {
    await browser.close();
  }
}
