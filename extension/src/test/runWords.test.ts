import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { endsWithResults, stageOf, statusText } from '../runWords';

describe("reading the server's progress words", () => {
  it('takes the stage the notification and the lens show', () => {
    assert.equal(stageOf('generation 2/8 · 27 variants (4 cached, 5 rejected, 1 failed)'), 'generation 2/8');
    assert.equal(stageOf('writing the variants'), 'writing the variants');
    assert.equal(stageOf(undefined), undefined);
  });

  it('puts the stage in the status bar, and no percentage while cancelling', () => {
    assert.equal(statusText('generation 0/2', 12.4, false), '$(sync~spin) NN Evolve: generation 0/2 12%');
    assert.equal(statusText('generation 0/2', 40, true), '$(sync~spin) NN Evolve: cancelling…');
    assert.equal(statusText(undefined, undefined, false), '$(sync~spin) NN Evolve');
  });

  it('offers results only for a run that finished or was cancelled, never for a failure', () => {
    assert.ok(endsWithResults('Finished: 3 Pareto-optimal variants · best 98.2% (+0.4)'));
    assert.ok(endsWithResults('Finished before the cancel took effect (the search had ended): 2 Pareto-optimal variants'));
    assert.ok(endsWithResults('Cancelled: the 5 variants evaluated so far stay in the run store'));
    assert.ok(!endsWithResults("Evolving Net failed: Net cannot be built for dataset 'digits': line 12"));
    assert.ok(!endsWithResults(undefined));
  });
});
