import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { resultsHtml } from '../results/html';
import { isFromWebview } from '../results/messages';
import {
  accuracyChange,
  formatAccuracy,
  formatLatency,
  formatParams,
  parsePareto,
  parseRuns,
  parseVariantDocumentPath,
  relativeChange,
  variantDocumentPath,
} from '../results/model';
import { latencyColor, layoutPlot, type PlotInput } from '../results/plot';

/** A variant as the run store writes it (`Variant.to_json` plus `diff`). */
function storedVariant(id: number, accuracy: number, params: number, latency: number, extra: object = {}) {
  return {
    id,
    run_id: 'r1',
    source: `# variant ${id}\n`,
    diff: `--- a\n+++ b\n`,
    edits: [{ op: 'delete', summary: `delete line ${id}` }],
    is_base: false,
    is_pareto: true,
    evaluation: { status: 'ok', accuracy, params, latency_ms: latency, test_accuracy: null },
    ...extra,
  };
}

describe('reading nnevolve/runs and nnevolve/pareto', () => {
  it("reads the server's runs, bare or wrapped, and skips unreadable ones", () => {
    const record = {
      id: '20240101-abc',
      file: 'convnet_small.py',
      model: 'ConvNet',
      status: 'finished',
      dataset: 'digits',
      generation: 1,
      generations: 1,
      created_at: 1700000000,
      error: null,
      counts: { evaluated: 6, cached: 1, rejected: 2, failed: 0, pending: 0, trained: 6 },
      offered: true,
    };
    const runs = parseRuns({ runs: [record, { status: 'finished' }, 42] });
    assert.deepEqual(runs, [
      {
        id: '20240101-abc',
        status: 'finished',
        model: 'ConvNet',
        createdAt: 1700000000,
        counts: { evaluated: 6, cached: 1, rejected: 2, failed: 0, pending: 0, trained: 6 },
        error: null,
        offered: true,
      },
    ]);
    assert.equal(parseRuns([record]).length, 1);
    assert.deepEqual(parseRuns(null), []);
  });

  it("reads the server's answer: the original apart, variants labelled by their index", () => {
    const pareto = parsePareto({
      run: { id: 'r1', status: 'finished' },
      base: { accuracy: 0.95, params: 20000, latency_ms: 0.3, test_accuracy: null, source: 'base' },
      variants: [
        { id: 14, index: 1, accuracy: 0.97, params: 18000, latency_ms: 0.25, test_accuracy: null,
          changes: ['line 14: delete nn.ReLU()'], lineage: [{ op: 'delete', summary: 'delete line 14' }],
          source: '# variant 14\n', diff: '--- a\n+++ b\n', withheld: null },
        { id: 12, index: 2, accuracy: 0.93, params: 5000, latency_ms: 0.1, test_accuracy: null, changes: [], lineage: [],
          source: 's', diff: '', withheld: 'variant 2/2 changes lines of Net that were edited since the run started' },
      ],
    });
    assert.deepEqual(pareto.base && [pareto.base.key, pareto.base.label, pareto.base.metrics.params], ['original', 'original', 20000]);
    assert.deepEqual(pareto.variants.map((v) => [v.key, v.label, v.id]), [['14', '1', 14], ['12', '2', 12]]);
    assert.deepEqual(pareto.variants[0]?.metrics, { accuracy: 0.97, params: 18000, latencyMs: 0.25, testAccuracy: null });
    assert.deepEqual(pareto.variants[0]?.changes, ['line 14: delete nn.ReLU()']);
    assert.deepEqual(pareto.variants[0]?.lineage, ['delete line 14']);
    assert.deepEqual(pareto.variants.map((v) => v.withheld), [
      null,
      'variant 2/2 changes lines of Net that were edited since the run started',
    ]);
    assert.equal(pareto.variants[0]?.source, '# variant 14\n');
    assert.equal(pareto.variants[0]?.diff, '--- a\n+++ b\n');
  });

  it('reads run-store records too: metrics under `evaluation`, the base flagged among variants', () => {
    const pareto = parsePareto([
      storedVariant(10, 0.95, 20000, 0.3, { is_base: true, is_pareto: false }),
      storedVariant(14, 0.97, 18000, 0.25),
      storedVariant(12, 0.93, 5000, 0.1),
    ]);
    assert.equal(pareto.base?.metrics.accuracy, 0.95);
    assert.deepEqual(pareto.variants.map((v) => [v.key, v.label]), [['14', '1'], ['12', '2']]);
    assert.equal(pareto.variants[1]?.metrics.latencyMs, 0.1);
  });

  it('reads an unknown run (null) as an empty front', () => {
    assert.deepEqual(parsePareto(null), { base: null, variants: [] });
  });
});

describe('figures in words', () => {
  it('words figures as the code actions do', () => {
    assert.equal(formatAccuracy(0.9823), '98.2%');
    assert.equal(formatParams(18204), '18,204');
    assert.equal(formatLatency(0.214), '0.21 ms');
    assert.equal(formatLatency(12.34), '12.3 ms');
    assert.equal(formatAccuracy(null), '—');
  });

  it('words changes against the original network with signs', () => {
    assert.equal(accuracyChange(0.982, 0.978), '+0.4');
    assert.equal(accuracyChange(0.96, 0.978), '\u22121.8');
    assert.equal(relativeChange(18204, 29360), '\u221238%');
    assert.equal(relativeChange(0.24, 0.2), '+20%');
    assert.equal(relativeChange(5, null), '');
  });
});

describe('variant documents', () => {
  it('names run and variant in the path and keeps the file name for highlighting', () => {
    const path = variantDocumentPath('run 1/2', '14', 'convnet_small.py');
    assert.equal(path, '/run%201%2F2/14/convnet_small.py');
    assert.deepEqual(parseVariantDocumentPath(path), { run: 'run 1/2', variantKey: '14' });
    assert.equal(parseVariantDocumentPath('/only/two'), undefined);
  });
});

describe('Pareto plot layout', () => {
  const inputs: PlotInput[] = [
    { key: 'base', accuracy: 0.95, params: 20000, latencyMs: 0.3, isBase: true, label: 'original' },
    { key: 'a', accuracy: 0.97, params: 40000, latencyMs: 0.5, isBase: false, label: 'variant 1' },
    { key: 'b', accuracy: 0.93, params: 5000, latencyMs: 0.1, isBase: false, label: 'variant 2' },
    { key: 'broken', accuracy: null, params: 100, latencyMs: null, isBase: false, label: 'variant 3' },
  ];
  const layout = layoutPlot(inputs, 600, 320, 'a');
  const point = (key: string) => layout.points.find((p) => p.key === key)!;

  it('puts more parameters to the right and higher accuracy higher, inside the plot area', () => {
    assert.ok(point('b').cx < point('base').cx && point('base').cx < point('a').cx);
    assert.ok(point('a').cy < point('base').cy && point('base').cy < point('b').cy);
    for (const p of layout.points) {
      assert.ok(p.cx > layout.area.left && p.cx < layout.area.right);
      assert.ok(p.cy > layout.area.top && p.cy < layout.area.bottom);
    }
  });

  it('spaces parameters on a log scale', () => {
    const flat = layoutPlot(
      [10, 100, 1000].map((params, i) => ({ key: String(i), accuracy: 0.9, params, latencyMs: 1, isBase: false, label: '' })),
      600,
      320,
    );
    const [a, b, c] = flat.points.map((p) => p.cx);
    assert.ok(Math.abs((b! - a!) - (c! - b!)) < 0.5);
  });

  it('marks the original network, highlights the chosen variant and draws it last', () => {
    assert.equal(point('base').isBase, true);
    assert.equal(point('a').selected, true);
    assert.ok(point('a').r > point('b').r);
    assert.equal(layout.points[layout.points.length - 1]?.key, 'a');
  });

  it('colours by latency, fastest green to slowest red, and counts what it cannot draw', () => {
    assert.deepEqual(layout.latency, { min: 0.1, max: 0.5 });
    assert.equal(point('b').color, '#22c55e');
    assert.equal(point('a').color, '#ef4444');
    assert.equal(latencyColor(0.3, 0.1, 0.5), '#eab308');
    assert.equal(layout.skipped, 1);
  });

  it('labels axes with parameter counts and percentages', () => {
    assert.ok(layout.xTicks.some((t) => t.label === '10k'));
    assert.ok(layout.yTicks.every((t) => /^\d+(\.\d)?%$/.test(t.label)));
    assert.ok(layout.yTicks.length >= 3);
  });
});

describe('results webview page', () => {
  it('allows only its own nonce for scripts and the webview origin for styles', () => {
    const html = resultsHtml({ cspSource: 'https://x.vscode-cdn.net', scriptUri: 'https://s/results.js', styleUri: 'https://s/results.css', nonce: 'abc123' });
    const policy = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /script-src 'nonce-abc123'/);
    assert.match(policy, /style-src https:\/\/x\.vscode-cdn\.net/);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|http:\/\/|\*/);
    assert.match(html, /<script nonce="abc123" src="https:\/\/s\/results\.js"><\/script>/);
    assert.equal((html.match(/<script/g) ?? []).length, 1);
  });

  it('accepts only well-formed messages from the webview', () => {
    assert.equal(isFromWebview({ type: 'apply', variant: '3' }), true);
    assert.equal(isFromWebview({ type: 'apply', variant: 3 }), false);
    assert.equal(isFromWebview({ type: 'selectRun' }), false);
    assert.equal(isFromWebview({ type: 'runShellCommand' }), false);
    assert.equal(isFromWebview(null), false);
  });
});
