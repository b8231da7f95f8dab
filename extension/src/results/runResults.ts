/** The server's run results for the extension: `nnevolve/runs`, `nnevolve/pareto`, applying a variant. */
import * as vscode from 'vscode';
import { ExecuteCommandRequest, type LanguageClient } from 'vscode-languageclient/node';

import { parsePareto, parseRuns, type ParetoView, type RunView, type VariantView } from './model';

export const RUNS_REQUEST = 'nnevolve/runs';
export const PARETO_REQUEST = 'nnevolve/pareto';
export const APPLY_VARIANT_COMMAND = 'nnevolve.applyVariant';

export class ServerNotRunning extends Error {
  constructor() {
    super('the nnevolve language server is not running (see the "NN Evolve" output)');
  }
}

export class RunResults {
  // fronts of runs that can no longer change; a running run is always asked again
  private readonly finished = new Map<string, ParetoView>();

  constructor(private readonly getClient: () => LanguageClient | undefined) {}

  private client(): LanguageClient {
    const client = this.getClient();
    if (!client) {
      throw new ServerNotRunning();
    }
    return client;
  }

  /** The runs for a document, newest first. */
  async runs(document: vscode.Uri): Promise<RunView[]> {
    return parseRuns(await this.client().sendRequest(RUNS_REQUEST, { uri: document.toString() }));
  }

  /** A run's Pareto variants (and its base network); `document` helps the server find its store. */
  async pareto(run: RunView | string, document?: vscode.Uri): Promise<ParetoView> {
    const id = typeof run === 'string' ? run : run.id;
    const known = this.finished.get(id);
    if (known) {
      return known;
    }
    const params = document ? { run: id, uri: document.toString() } : { run: id };
    const pareto = parsePareto(await this.client().sendRequest(PARETO_REQUEST, params));
    if (typeof run !== 'string' && run.status !== 'running') {
      this.finished.set(id, pareto);
    }
    return pareto;
  }

  /** A variant already fetched, without asking the server. */
  known(run: string, variantKey: string): VariantView | undefined {
    const pareto = this.finished.get(run);
    return pareto?.variants.find((v) => v.key === variantKey) ?? (pareto?.base?.key === variantKey ? pareto.base : undefined);
  }

  /** Remember a front fetched elsewhere (the panel keeps running runs' fronts too). */
  remember(run: string, pareto: ParetoView): void {
    this.finished.set(run, pareto);
  }

  /** Apply a variant to its document through the server, which refuses stale edits. */
  async apply(document: vscode.Uri, run: string, variant: VariantView): Promise<unknown> {
    const client = this.client();
    // the server edits only documents the editor has open (it needs their version)
    const opened = await vscode.workspace.openTextDocument(document);
    await vscode.window.showTextDocument(opened, { preview: false, preserveFocus: false });
    return client.sendRequest(ExecuteCommandRequest.type, {
      command: APPLY_VARIANT_COMMAND,
      // the version lets the server refuse the edit if the text moves on in between
      arguments: [{ uri: document.toString(), run, variant: variant.id, version: opened.version }],
    });
  }
}
