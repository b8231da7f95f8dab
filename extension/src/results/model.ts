/**
 * The results view's data: answers of `nnevolve/runs` and `nnevolve/pareto` read into plain
 * records, and the figures formatted as the code actions word them. No `vscode` import: the
 * webview script and the unit tests use it too.
 *
 * `nnevolve/runs` answers `{"uri", "runs": [{id, model, status, created_at, counts, ...}]}`;
 * `nnevolve/pareto` answers `{"run", "base": {accuracy, params, latency_ms, source},
 * "variants": [{id, index, accuracy, params, latency_ms, changes, lineage, source, diff,
 * withheld}]}`. The readers
 * also take bare lists and metrics nested in `evaluation` (the run store's records), and
 * skip entries they cannot read.
 */

export interface Metrics {
  accuracy: number | null; // validation accuracy in [0, 1]
  params: number | null;
  latencyMs: number | null;
  testAccuracy: number | null;
}

export interface RunView {
  id: string;
  status: string; // running | finished | cancelled | failed
  model: string;
  createdAt: number | null; // seconds since the epoch
  counts: Record<string, number>;
  error: string | null;
  offered: boolean; // the run whose variants the code actions offer
}

export interface VariantView {
  key: string; // the variant's id as text, for the webview and URIs
  id: string | number; // the id as the server gave it, sent back in nnevolve.applyVariant
  label: string; // "1", "2", ... in the server's order; "original" for the base network
  isBase: boolean;
  metrics: Metrics;
  source: string | null;
  diff: string | null;
  changes: string[]; // its net difference from the original, one phrase per changed line
  lineage: string[]; // the edits that bred it, in order
  withheld: string | null; // why it cannot be applied to the open document now, else null
}

export interface ParetoView {
  base: VariantView | null;
  variants: VariantView[]; // the Pareto-optimal variants, base excluded
}

type Json = Record<string, unknown>;

/** The key of the original network in the plot, the table and the webview's messages. */
export const BASE_KEY = 'original';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listIn(raw: unknown, key: string): unknown[] {
  if (Array.isArray(raw)) {
    return raw;
  }
  if (isObject(raw) && Array.isArray(raw[key])) {
    return raw[key] as unknown[];
  }
  return [];
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Read an answer to `nnevolve/runs` (newest first, as the server sends them). */
export function parseRuns(raw: unknown): RunView[] {
  const runs: RunView[] = [];
  for (const entry of listIn(raw, 'runs')) {
    if (!isObject(entry)) {
      continue;
    }
    const id = entry.id ?? entry.run ?? entry.run_id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      continue;
    }
    const counts: Record<string, number> = {};
    if (isObject(entry.counts)) {
      for (const [name, value] of Object.entries(entry.counts)) {
        if (typeof value === 'number') {
          counts[name] = value;
        }
      }
    }
    runs.push({
      id: String(id),
      status: textOrNull(entry.status) ?? 'unknown',
      model: textOrNull(entry.class_name) ?? textOrNull(entry.model) ?? '',
      createdAt: numberOrNull(entry.created_at),
      counts,
      error: textOrNull(entry.error),
      offered: entry.offered === true,
    });
  }
  return runs;
}

function readMetrics(entry: Json): Metrics {
  const evaluation = isObject(entry.evaluation) ? entry.evaluation : entry;
  return {
    accuracy: numberOrNull(evaluation.accuracy),
    params: numberOrNull(evaluation.params),
    latencyMs: numberOrNull(evaluation.latency_ms),
    testAccuracy: numberOrNull(evaluation.test_accuracy),
  };
}

function readEdits(value: unknown): string[] {
  if (!Array.isArray(value)) {
    return [];
  }
  return value
    .map((edit) => (typeof edit === 'string' ? edit : isObject(edit) ? textOrNull(edit.summary) : null))
    .filter((summary): summary is string => summary !== null && summary !== '');
}

function readVariant(entry: unknown, label: string, isBase: boolean): VariantView | null {
  if (!isObject(entry)) {
    return null;
  }
  // the base network is not a variant the server can apply: it may come without an id
  const id = entry.id ?? entry.variant ?? (isBase ? BASE_KEY : undefined);
  if (typeof id !== 'string' && typeof id !== 'number') {
    return null;
  }
  return {
    key: isBase ? BASE_KEY : String(id),
    id,
    label: isBase ? 'original' : Number.isInteger(entry.index) ? String(entry.index) : label,
    isBase,
    metrics: readMetrics(entry),
    source: textOrNull(entry.source),
    diff: textOrNull(entry.diff),
    changes: readEdits(entry.changes),
    lineage: readEdits(entry.lineage),
    withheld: textOrNull(entry.withheld),
  };
}

/**
 * Read an answer to `nnevolve/pareto`: the base network apart, the variants labelled by the
 * server's `index` (the n of the "Apply variant n/N" code actions), else 1, 2, ... in order.
 */
export function parsePareto(raw: unknown): ParetoView {
  let base: VariantView | null = null;
  if (isObject(raw) && raw.base !== undefined) {
    base = readVariant(raw.base, 'original', true);
  }
  const variants: VariantView[] = [];
  for (const entry of listIn(raw, 'variants')) {
    const flaggedBase = isObject(entry) && (entry.is_base === true || entry.original === true);
    if (flaggedBase) {
      base ??= readVariant(entry, 'original', true);
      continue;
    }
    const variant = readVariant(entry, String(variants.length + 1), false);
    if (variant) {
      variants.push(variant);
    }
  }
  return { base, variants };
}

// ---- figures in words ----------------------------------------------------------------

const MINUS = '\u2212';

export function formatAccuracy(accuracy: number | null): string {
  return accuracy === null ? '—' : `${(accuracy * 100).toFixed(1)}%`;
}

export function formatParams(params: number | null): string {
  return params === null ? '—' : Math.round(params).toLocaleString('en-US');
}

export function formatLatency(latencyMs: number | null): string {
  if (latencyMs === null) {
    return '—';
  }
  return `${latencyMs < 1 ? latencyMs.toFixed(2) : latencyMs.toFixed(1)} ms`;
}

function signed(value: number, text: string): string {
  return value > 0 ? `+${text}` : value < 0 ? `${MINUS}${text}` : text;
}

/** Accuracy change in percentage points, e.g. "+0.4" or "−1.2". */
export function accuracyChange(value: number | null, base: number | null): string {
  if (value === null || base === null) {
    return '';
  }
  const points = Math.round((value - base) * 1000) / 10;
  return signed(points, Math.abs(points).toFixed(1));
}

/** Relative change, e.g. "−38%" for fewer parameters. */
export function relativeChange(value: number | null, base: number | null): string {
  if (value === null || base === null || base === 0) {
    return '';
  }
  const percent = Math.round(((value - base) / base) * 100);
  return signed(percent, `${Math.abs(percent)}%`);
}

// ---- virtual documents of variants -------------------------------------------------------

export const VARIANT_SCHEME = 'nnevolve-variant';

/** The path of a variant's read-only document: `/<run>/<variant>/<file name>`. */
export function variantDocumentPath(run: string, variantKey: string, fileName: string): string {
  return `/${encodeURIComponent(run)}/${encodeURIComponent(variantKey)}/${fileName}`;
}

/** The run and variant a variant document's path names, or undefined. */
export function parseVariantDocumentPath(path: string): { run: string; variantKey: string } | undefined {
  const match = /^\/([^/]+)\/([^/]+)\/[^/]+$/.exec(path);
  if (!match || match[1] === undefined || match[2] === undefined) {
    return undefined;
  }
  try {
    return { run: decodeURIComponent(match[1]), variantKey: decodeURIComponent(match[2]) };
  } catch {
    return undefined;
  }
}
