import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RestartPolicy, startFailureMessage } from '../restarts';

describe('restarting a server whose connection closed', () => {
  it('does not restart a server that died while starting', () => {
    assert.deepEqual(new RestartPolicy().closed(false), { restart: false, message: undefined });
  });

  it('says which server failed to start and where its error is', () => {
    assert.match(
      startFailureMessage('/venv/bin/python -m nnevolve.lsp'),
      /\(\/venv\/bin\/python -m nnevolve\.lsp\) stopped while starting.*"NN Evolve" output/,
    );
  });

  it('restarts a server that crashed after running, up to the limit in the window', () => {
    const policy = new RestartPolicy(2, 60_000);
    assert.equal(policy.closed(true, 0).restart, true);
    assert.equal(policy.closed(true, 1_000).restart, true);
    const third = policy.closed(true, 2_000);
    assert.equal(third.restart, false);
    assert.match(third.message ?? '', /crashed 3 times in 1 minutes/);
  });

  it('forgets crashes older than the window', () => {
    const policy = new RestartPolicy(1, 60_000);
    assert.equal(policy.closed(true, 0).restart, true);
    assert.equal(policy.closed(true, 120_000).restart, true);
  });
});
