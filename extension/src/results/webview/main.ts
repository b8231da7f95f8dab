/**
 * The results webview: a Pareto plot (SVG) and a sortable table of a run's variants, with
 * "Show diff" and "Apply" per variant. Everything is built with DOM calls (no HTML strings)
 * and follows the editor's theme through VS Code's CSS variables.
 */
import type { FromWebview, ToWebview } from '../messages';
import {
  accuracyChange,
  formatAccuracy,
  formatLatency,
  formatParams,
  relativeChange,
  type ParetoView,
  type RunView,
  type VariantView,
} from '../model';
import { layoutPlot, type PlotLayout } from '../plot';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): SavedState | undefined;
  setState(state: SavedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type SortKey = 'label' | 'accuracy' | 'params' | 'latency';
interface SavedState {
  selected: string | null;
  sort: { key: SortKey; descending: boolean };
}

const vscode = acquireVsCodeApi();
const root = document.getElementById('results') as HTMLElement;
const SVG = 'http://www.w3.org/2000/svg';
const PLOT_HEIGHT = 320;

let data: Extract<ToWebview, { type: 'show' }> | null = null;
let state: SavedState = vscode.getState() ?? { selected: null, sort: { key: 'label', descending: false } };

function post(message: FromWebview): void {
  vscode.postMessage(message);
}

function save(): void {
  vscode.setState(state);
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

function svg(tag: string, attributes: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  element.append(...children);
  return element;
}

function render(): void {
  if (!data) {
    return;
  }
  const children: Node[] = [header(data)];
  if (data.error) {
    children.push(el('p', { class: 'note error' }, data.error));
  } else if (!data.runId) {
    children.push(el('p', { class: 'note' }, 'No evolution run for this file yet. Run “NN Evolve: Evolve this network”.'));
  } else if (data.pareto) {
    const pareto = data.pareto;
    if (pareto.variants.length === 0 && !pareto.base) {
      children.push(el('p', { class: 'note' }, 'This run has no evaluated variants yet.'));
    } else {
      children.push(plotSection(pareto), table(pareto));
    }
  }
  root.replaceChildren(...children);
}

function header(shown: Extract<ToWebview, { type: 'show' }>): HTMLElement {
  const title = el('h1', {}, `Pareto front · ${shown.fileName}`);
  const controls = el('div', { class: 'controls' });
  if (shown.runs.length > 0) {
    const select = el('select', { id: 'run', 'aria-label': 'Run' });
    for (const run of shown.runs) {
      const option = el('option', { value: run.id }, runLabel(run));
      option.selected = run.id === shown.runId;
      select.append(option);
    }
    select.addEventListener('change', () => post({ type: 'selectRun', run: select.value }));
    controls.append(el('label', { for: 'run' }, 'Run '), select);
  }
  const refresh = el('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refresh.addEventListener('click', () => post({ type: 'refresh' }));
  controls.append(refresh);
  const run = shown.runs.find((r) => r.id === shown.runId);
  const summary = run ? el('p', { class: 'summary' }, runSummary(run)) : el('p', { class: 'summary' });
  return el('header', {}, title, controls, summary);
}

function runLabel(run: RunView): string {
  const when = run.createdAt === null ? '' : new Date(run.createdAt * 1000).toLocaleString();
  return `${when} · ${run.model || 'model'} · ${run.status}${run.offered ? ' · offered as code actions' : ''}`;
}

function runSummary(run: RunView): string {
  const counts = ['evaluated', 'cached', 'rejected', 'failed']
    .filter((name) => run.counts[name] !== undefined)
    .map((name) => `${run.counts[name]} ${name}`);
  const parts = [run.status, run.model, ...counts];
  if (run.error) {
    parts.push(run.error);
  }
  return parts.filter(Boolean).join(' · ');
}

function allVariants(pareto: ParetoView): VariantView[] {
  return pareto.base ? [pareto.base, ...pareto.variants] : [...pareto.variants];
}

function plotSection(pareto: ParetoView): HTMLElement {
  const width = Math.max(360, Math.min(900, root.clientWidth - 8 || 640));
  const layout = layoutPlot(
    allVariants(pareto).map((v) => ({
      key: v.key,
      accuracy: v.metrics.accuracy,
      params: v.metrics.params,
      latencyMs: v.metrics.latencyMs,
      isBase: v.isBase,
      label: v.isBase ? 'original' : `variant ${v.label}`,
    })),
    width,
    PLOT_HEIGHT,
    state.selected ?? undefined,
  );
  const legend = el(
    'p',
    { class: 'legend' },
    '◆ original network · ● Pareto variant, colour = latency (green fast → red slow) · ring = selected',
  );
  if (layout.latency) {
    legend.append(` · ${formatLatency(layout.latency.min)} – ${formatLatency(layout.latency.max)}`);
  }
  return el('section', { class: 'plot' }, drawPlot(layout), legend);
}

function drawPlot(layout: PlotLayout): SVGElement {
  const { area } = layout;
  const plot = svg('svg', {
    class: 'pareto-plot',
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: 'img',
    'aria-label': 'Pareto front: accuracy against parameters',
  });
  const axes = svg('g', { class: 'axes' });
  for (const tick of layout.xTicks) {
    axes.append(
      svg('line', { class: 'grid', x1: tick.at, x2: tick.at, y1: area.top, y2: area.bottom }),
      text(tick.at, area.bottom + 16, tick.label, 'middle'),
    );
  }
  for (const tick of layout.yTicks) {
    axes.append(
      svg('line', { class: 'grid', x1: area.left, x2: area.right, y1: tick.at, y2: tick.at }),
      text(area.left - 6, tick.at + 4, tick.label, 'end'),
    );
  }
  axes.append(
    svg('rect', { class: 'frame', x: area.left, y: area.top, width: area.right - area.left, height: area.bottom - area.top }),
    text((area.left + area.right) / 2, layout.height - 6, 'parameters (log scale)', 'middle'),
  );
  const yLabel = text(0, 0, 'validation accuracy', 'middle');
  yLabel.setAttribute('transform', `translate(14 ${(area.top + area.bottom) / 2}) rotate(-90)`);
  axes.append(yLabel);
  plot.append(axes);

  const points = svg('g', { class: 'points' });
  for (const point of layout.points) {
    const shape = point.isBase
      ? svg('rect', {
          x: point.cx - point.r,
          y: point.cy - point.r,
          width: point.r * 2,
          height: point.r * 2,
          transform: `rotate(45 ${point.cx} ${point.cy})`,
        })
      : svg('circle', { cx: point.cx, cy: point.cy, r: point.r });
    shape.setAttribute('fill', point.color);
    shape.setAttribute('class', `point${point.isBase ? ' base' : ''}${point.selected ? ' selected' : ''}`);
    shape.setAttribute('data-key', point.key);
    shape.append(svg('title', {}, document.createTextNode(point.label)));
    shape.addEventListener('click', () => select(point.key));
    points.append(shape);
    if (point.isBase) {
      // the label goes on the side with room for it
      const right = point.cx + 70 < layout.width;
      points.append(text(point.cx + (right ? 1 : -1) * (point.r + 4), point.cy - point.r, 'original', right ? 'start' : 'end'));
    }
  }
  plot.append(points);
  return plot;
}

function text(x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end'): SVGElement {
  return svg('text', { x, y, 'text-anchor': anchor }, document.createTextNode(content));
}

const COLUMNS: { key: SortKey | null; title: string }[] = [
  { key: 'label', title: '#' },
  { key: 'accuracy', title: 'Accuracy' },
  { key: 'params', title: 'Parameters' },
  { key: 'latency', title: 'Latency' },
  { key: null, title: '' },
];

function sortValue(variant: VariantView, key: SortKey): number {
  switch (key) {
    case 'label':
      return Number(variant.label) || 0;
    case 'accuracy':
      return variant.metrics.accuracy ?? -Infinity;
    case 'params':
      return variant.metrics.params ?? Infinity;
    case 'latency':
      return variant.metrics.latencyMs ?? Infinity;
  }
}

function table(pareto: ParetoView): HTMLElement {
  const headRow = el('tr');
  for (const column of COLUMNS) {
    if (column.key === null) {
      headRow.append(el('th', { scope: 'col' }, column.title));
      continue;
    }
    const key = column.key;
    const active = state.sort.key === key;
    const th = el('th', {
      scope: 'col',
      'aria-sort': active ? (state.sort.descending ? 'descending' : 'ascending') : 'none',
    });
    const button = el('button', { type: 'button', class: 'sort' }, column.title + (active ? (state.sort.descending ? ' ▾' : ' ▴') : ''));
    button.addEventListener('click', () => {
      state.sort = { key, descending: active ? !state.sort.descending : key === 'accuracy' };
      save();
      render();
    });
    th.append(button);
    headRow.append(th);
  }
  const sorted = [...pareto.variants].sort((a, b) => {
    const order = sortValue(a, state.sort.key) - sortValue(b, state.sort.key);
    return state.sort.descending ? -order : order;
  });
  const body = el('tbody');
  for (const variant of pareto.base ? [pareto.base, ...sorted] : sorted) {
    body.append(...rows(variant, pareto.base));
  }
  return el('table', { class: 'variants' }, el('thead', {}, headRow), body);
}

/** A figure with its change against the original network in smaller type. */
function figure(value: string, change: string): HTMLTableCellElement {
  const cell = el('td', { class: 'number' }, value);
  if (change) {
    cell.append(el('span', { class: 'change' }, change));
  }
  return cell;
}

/** Two table rows per variant: its figures and actions, then its changes in words. */
function rows(variant: VariantView, base: VariantView | null): HTMLTableRowElement[] {
  const m = variant.metrics;
  const b = variant.isBase ? null : (base?.metrics ?? null);
  const selected = variant.key === state.selected ? ' selected' : '';
  const kind = variant.isBase ? 'base' : 'variant';
  const actions = el('td', { class: 'actions' });
  if (!variant.isBase) {
    const diff = el('button', { type: 'button', class: 'secondary' }, 'Show diff');
    diff.addEventListener('click', (event) => {
      event.stopPropagation();
      select(variant.key);
      post({ type: 'showDiff', variant: variant.key });
    });
    const apply = el('button', { type: 'button' }, variant.withheld ? 'Withheld' : 'Apply');
    if (variant.withheld) {
      // the server would refuse it: say why before any click, as the code actions do
      apply.disabled = true;
      apply.title = variant.withheld;
    }
    apply.addEventListener('click', (event) => {
      event.stopPropagation();
      select(variant.key);
      post({ type: 'apply', variant: variant.key });
    });
    actions.append(diff, apply);
  }
  const figures = el(
    'tr',
    { 'data-key': variant.key, class: `figures ${kind}${selected}` },
    el('td', {}, variant.isBase ? 'original' : variant.label),
    figure(formatAccuracy(m.accuracy), b ? accuracyChange(m.accuracy, b.accuracy) : ''),
    figure(formatParams(m.params), b ? relativeChange(m.params, b.params) : ''),
    figure(formatLatency(m.latencyMs), b ? relativeChange(m.latencyMs, b.latencyMs) : ''),
    actions,
  );
  const words = variant.isBase ? 'the network as written' : variant.changes.join('; ') || 'no change';
  const cell = el('td', { colspan: String(COLUMNS.length - 1) }, words);
  if (variant.lineage.length > 0) {
    cell.title = `lineage: ${variant.lineage.join('; ')}`;
  }
  if (variant.withheld) {
    cell.append(el('div', { class: 'withheld' }, `withheld: ${variant.withheld}`));
  }
  const edits = el('tr', { 'data-key': variant.key, class: `edits ${kind}${selected}` }, el('td', {}), cell);
  for (const row of [figures, edits]) {
    row.addEventListener('click', () => select(variant.key));
  }
  return [figures, edits];
}

function select(key: string): void {
  state.selected = key;
  save();
  render();
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const message = event.data;
  if (message.type === 'loading') {
    // what is shown stays until the new data arrives: no blank flash on refresh
    if (data?.fileName !== message.fileName) {
      data = null;
      root.replaceChildren(el('p', { class: 'note' }, `Loading the results of ${message.fileName}…`));
    }
  } else if (message.type === 'show') {
    data = message;
    render();
  }
});
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(render, 100);
});
post({ type: 'ready' });
