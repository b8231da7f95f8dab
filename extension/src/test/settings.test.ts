import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { explicitValue, overridesFromSettings, withSettingOverrides, type SettingValues } from '../settings';

/** An `inspect` over a table of explicit values, as VS Code reports them. */
function inspector(table: Record<string, SettingValues>) {
  return (key: string) => table[key];
}

describe('settings → overrides', () => {
  it('sends nothing when the user set nothing, so [tool.nnevolve] decides', () => {
    assert.deepEqual(overridesFromSettings(inspector({})), { overrides: {}, problems: [] });
  });

  it('sends only the settings the user set, under the names the server reads', () => {
    const result = overridesFromSettings(
      inspector({
        generations: { workspaceValue: 1 },
        population: { globalValue: 4 },
        epochs: { workspaceFolderValue: 1 },
        workers: { workspaceValue: 1 },
        maxEvals: { workspaceValue: 6 },
        time: { workspaceValue: ' 1h30m ' },
        dataset: { workspaceValue: ' digits ' },
        objectives: { globalValue: ['error', 'params', 'error'] },
        seed: { workspaceValue: 0 },
        device: { workspaceValue: 'cuda:1' },
        workersPerDevice: { workspaceValue: 2 },
        amp: { workspaceValue: false },
        evolveTraining: { workspaceValue: false },
        screening: { workspaceValue: 'auto' },
        cluster: { globalValue: ' tcp://gpu-head:8786 ' },
      }),
    );
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.overrides, {
      dataset: 'digits',
      generations: 1,
      population: 4,
      epochs: 1,
      objectives: ['error', 'params'],
      workers: 1,
      max_evals: 6,
      time: '1h30m',
      seed: 0,
      device: 'cuda:1',
      workers_per_device: 2,
      amp: false,
      evolve_training: false,
      screening: 'auto',
      cluster: 'tcp://gpu-head:8786',
    });
  });

  it('takes the most specific scope: folder over workspace over user', () => {
    const result = overridesFromSettings(
      inspector({ generations: { globalValue: 9, workspaceValue: 5, workspaceFolderValue: 2 } }),
    );
    assert.equal(result.overrides.generations, 2);
  });

  it('treats null (the declared default) as not set', () => {
    assert.equal(explicitValue({ workspaceValue: null, globalValue: 3 }), 3);
    assert.deepEqual(overridesFromSettings(inspector({ epochs: { workspaceValue: null } })).overrides, {});
  });

  it('reports unusable values in words and leaves them out', () => {
    const result = overridesFromSettings(
      inspector({
        generations: { workspaceValue: 'ten' },
        population: { workspaceValue: 1 },
        epochs: { workspaceValue: 2.5 },
        objectives: { workspaceValue: ['accuracy'] },
        dataset: { workspaceValue: '' },
        workers: { workspaceValue: 2 },
        device: { workspaceValue: 'gpu' },
        workersPerDevice: { workspaceValue: 0 },
        amp: { workspaceValue: 'yes' },
        cluster: { workspaceValue: '' },
        time: { workspaceValue: 'ten minutes' },
        screening: { workspaceValue: true },
      }),
    );
    assert.deepEqual(result.overrides, { workers: 2 });
    assert.equal(result.problems.length, 11);
    assert.match(result.problems.join('\n'), /nnevolve\.screening must be auto, on, off, not true/);
    assert.match(result.problems.join('\n'), /nnevolve\.workersPerDevice must be at least 1, not 0/);
    assert.match(result.problems.join('\n'), /nnevolve\.amp must be true or false, not "yes"/);
    assert.match(result.problems.join('\n'), /nnevolve\.time must be a duration such as "90s", "10m" or "1h30m", not "ten minutes"/);
    assert.match(result.problems.join('\n'), /nnevolve\.device must be auto, cpu, cuda or cuda:N, not "gpu"/);
    assert.match(result.problems.join('\n'), /nnevolve\.generations must be a whole number, not "ten"; it is ignored\./);
    assert.match(result.problems.join('\n'), /nnevolve\.population must be at least 2, not 1/);
    assert.match(result.problems.join('\n'), /nnevolve\.objectives must be a non-empty list of error, params, latency/);
  });

  it('lets overrides passed by the caller (a code lens) win over settings', () => {
    const merged = withSettingOverrides(
      { uri: 'file:///m.py', model: 'Net', overrides: { epochs: 3 } },
      { epochs: 1, generations: 2 },
    );
    assert.deepEqual(merged, { uri: 'file:///m.py', model: 'Net', overrides: { epochs: 3, generations: 2 } });
  });

  it('adds settings to arguments without overrides and leaves odd arguments alone', () => {
    assert.deepEqual(withSettingOverrides({ uri: 'u' }, { seed: 1 }), { uri: 'u', overrides: { seed: 1 } });
    assert.equal(withSettingOverrides('file:///m.py', { seed: 1 }), 'file:///m.py');
    assert.equal(withSettingOverrides(null, { seed: 1 }), null);
  });
});
