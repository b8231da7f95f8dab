// A second, minimal LSP client of the nnevolve server, to read a run's variants straight from
// the documented protocol (`nnevolve/runs`, `nnevolve/pareto`) and compare them with what the
// editor shows. It starts its own server process in its own process group.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import { killGroup } from './codeServer.mjs';

const require = createRequire(import.meta.url);
const rpc = require('vscode-jsonrpc/node');

export async function startProbe(python, workspace, env) {
  const child = spawn(python, ['-m', 'nnevolve.lsp'], {
    cwd: workspace,
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin),
  );
  connection.onRequest(() => null); // answer server requests (progress create, configuration) blandly
  connection.listen();
  const workspaceUri = pathToFileURL(workspace).href;
  const withTimeout = (promise, ms, what) =>
    Promise.race([
      promise,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s; server stderr:\n${stderr}`)), ms)),
    ]);
  await withTimeout(
    connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: workspaceUri,
      workspaceFolders: [{ uri: workspaceUri, name: 'workspace' }],
      capabilities: {},
    }),
    60_000,
    'initialize',
  );
  await connection.sendNotification('initialized', {});
  return {
    request: (method, params, ms = 30_000) => withTimeout(connection.sendRequest(method, params), ms, method),
    async stop() {
      try {
        await withTimeout(connection.sendRequest('shutdown'), 5_000, 'shutdown');
        await connection.sendNotification('exit');
      } catch {
        // killed below anyway
      }
      connection.dispose();
      await killGroup(child.pid, 2000);
    },
  };
}
