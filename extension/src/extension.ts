/** NN Evolve: wiring of the language client, line marks, commands, run status and results view. */
import * as vscode from 'vscode';

import { LanguageServer } from './client';
import { Evolution, registerCommands } from './commands';
import { LineMarks } from './decorations';
import { RunProgress } from './progress';
import { PythonEnvironment, SetupAdvice } from './python';
import { ResultsPanel } from './results/panel';
import { RunResults } from './results/runResults';
import { VariantDocuments } from './results/variantDocuments';
import { RunStatus } from './status';

let server: LanguageServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('NN Evolve', { log: true });
  const python = new PythonEnvironment();
  const advice = new SetupAdvice(() => void server?.restart('nnevolve was installed'));
  const progress = new RunProgress(output);
  const status = new RunStatus();
  const getClient = () => server?.client;

  const results = new RunResults(getClient);
  const variantDocuments = new VariantDocuments(results);
  const panel = new ResultsPanel(context.extensionUri, results, variantDocuments);
  const marks = new LineMarks(context.extensionUri, getClient, output);

  const evolution = new Evolution(getClient, panel, output, progress);
  const languageServer = new LanguageServer(python, advice, output, evolution.middleware(), (client) => [
    progress.featureFor(client),
  ]);
  server = languageServer;

  context.subscriptions.push(
    output,
    python,
    advice,
    progress,
    status,
    panel,
    marks,
    languageServer,
    variantDocuments.register(),
    progress.onDidChange((runs) => status.update(runs)),
    languageServer.onDidStart(() => marks.refreshAll()),
    python.onDidChange((reason) => void languageServer.restart(reason)),
    // the server learns of trust at start: restart it so that evolve turns on
    vscode.workspace.onDidGrantWorkspaceTrust(() => void languageServer.restart('workspace trusted')),
    ...registerCommands({ server: languageServer, marks, progress, results: panel, advice, output }, evolution),
  );
  void languageServer.restart('extension activated');
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
