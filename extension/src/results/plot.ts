/**
 * Geometry of the Pareto plot: accuracy (y) against parameter count (x, log scale), latency
 * as colour. Pure arithmetic, so the webview only turns it into SVG elements and the unit
 * tests can check where each point lands.
 */

export interface PlotInput {
  key: string;
  accuracy: number | null;
  params: number | null;
  latencyMs: number | null;
  isBase: boolean;
  label: string;
}

export interface PlotPoint {
  key: string;
  cx: number;
  cy: number;
  r: number;
  color: string;
  isBase: boolean;
  selected: boolean;
  label: string;
}

export interface Tick {
  at: number; // pixel position along its axis
  label: string;
}

export interface PlotLayout {
  width: number;
  height: number;
  area: { left: number; top: number; right: number; bottom: number };
  xTicks: Tick[];
  yTicks: Tick[];
  points: PlotPoint[]; // drawn in this order: the selected point last, on top
  latency: { min: number; max: number } | null;
  skipped: number; // inputs without accuracy or parameter count
}

const MARGIN = { left: 56, top: 14, right: 18, bottom: 42 };
const RADIUS = 6;
const SELECTED_RADIUS = 9;
/** Fast → slow; readable on dark and light backgrounds alike. */
const LATENCY_COLORS = ['#22c55e', '#eab308', '#ef4444'];
const NO_LATENCY_COLOR = '#9ca3af';

export function layoutPlot(inputs: readonly PlotInput[], width: number, height: number, selectedKey?: string): PlotLayout {
  const drawable = inputs.filter(
    (p): p is PlotInput & { accuracy: number; params: number } =>
      p.accuracy !== null && p.params !== null && p.params > 0,
  );
  const area = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom };
  const [xLo, xHi] = logDomain(drawable.map((p) => p.params));
  const [yLo, yHi] = accuracyDomain(drawable.map((p) => p.accuracy));
  const x = (params: number) => area.left + ((Math.log10(params) - xLo) / (xHi - xLo)) * (area.right - area.left);
  const y = (accuracy: number) => area.bottom - ((accuracy - yLo) / (yHi - yLo)) * (area.bottom - area.top);

  const latencies = drawable.map((p) => p.latencyMs).filter((l): l is number => l !== null);
  const latency = latencies.length > 0 ? { min: Math.min(...latencies), max: Math.max(...latencies) } : null;

  const points = drawable.map((p) => {
    const selected = p.key === selectedKey;
    return {
      key: p.key,
      cx: round(x(p.params)),
      cy: round(y(p.accuracy)),
      r: selected ? SELECTED_RADIUS : RADIUS,
      color: latency && p.latencyMs !== null ? latencyColor(p.latencyMs, latency.min, latency.max) : NO_LATENCY_COLOR,
      isBase: p.isBase,
      selected,
      label: p.label,
    };
  });
  points.sort((a, b) => Number(a.selected) - Number(b.selected));

  return {
    width,
    height,
    area,
    xTicks: paramTicks(xLo, xHi).map((value) => ({ at: round(x(value)), label: formatCount(value) })),
    yTicks: accuracyTicks(yLo, yHi).map((value) => ({ at: round(y(value)), label: formatPercent(value, yHi - yLo) })),
    points,
    latency,
    skipped: inputs.length - drawable.length,
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** log10 domain around the parameter counts, padded so no point sits on the frame. */
function logDomain(values: number[]): [number, number] {
  if (values.length === 0) {
    return [3, 5];
  }
  const lo = Math.log10(Math.min(...values));
  const hi = Math.log10(Math.max(...values));
  const pad = Math.max(0.08, (hi - lo) * 0.08);
  return hi - lo < 1e-9 ? [lo - 0.5, hi + 0.5] : [lo - pad, hi + pad];
}

function accuracyDomain(values: number[]): [number, number] {
  if (values.length === 0) {
    return [0, 1];
  }
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max(0.005, (hi - lo) * 0.12);
  return [Math.max(0, lo - pad), Math.min(1, hi + pad)];
}

/** 1, 2, 5 × 10^k inside the domain; decades only when that would crowd the axis. */
function paramTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let decade = Math.floor(lo); decade <= Math.ceil(hi); decade++) {
    for (const m of [1, 2, 5]) {
      const value = m * 10 ** decade;
      const at = Math.log10(value);
      if (at >= lo && at <= hi) {
        ticks.push(value);
      }
    }
  }
  if (ticks.length > 7) {
    const decades = ticks.filter((v) => Number.isInteger(Math.log10(v)));
    return decades.length >= 2 ? decades : ticks.filter((_, i) => i % 3 === 0);
  }
  if (ticks.length === 0) {
    return [10 ** ((lo + hi) / 2)];
  }
  return ticks;
}

function accuracyTicks(lo: number, hi: number): number[] {
  const rough = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let value = Math.ceil(lo / step) * step; value <= hi + 1e-12; value += step) {
    ticks.push(Math.round(value / step) * step);
  }
  return ticks;
}

export function formatCount(value: number): string {
  if (value >= 1e6) {
    return `${trim(value / 1e6)}M`;
  }
  if (value >= 1e3) {
    return `${trim(value / 1e3)}k`;
  }
  return trim(value);
}

function trim(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function formatPercent(value: number, span: number): string {
  const decimals = span < 0.02 ? 1 : 0;
  return `${(value * 100).toFixed(decimals)}%`;
}

/** Colour of a latency between the fastest (green) and the slowest (red) variant. */
export function latencyColor(latencyMs: number, min: number, max: number): string {
  const t = max - min < 1e-12 ? 0 : Math.max(0, Math.min(1, (latencyMs - min) / (max - min)));
  const scaled = t * (LATENCY_COLORS.length - 1);
  const index = Math.min(Math.floor(scaled), LATENCY_COLORS.length - 2);
  return mix(LATENCY_COLORS[index] ?? '#000000', LATENCY_COLORS[index + 1] ?? '#000000', scaled - index);
}

function mix(from: string, to: string, t: number): string {
  const a = parseInt(from.slice(1), 16);
  const b = parseInt(to.slice(1), 16);
  const channel = (shift: number) => {
    const value = Math.round(((a >> shift) & 255) * (1 - t) + ((b >> shift) & 255) * t);
    return value.toString(16).padStart(2, '0');
  };
  return `#${channel(16)}${channel(8)}${channel(0)}`;
}
