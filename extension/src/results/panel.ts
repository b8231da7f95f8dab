/** The results view: one webview panel showing the runs of one model file. */
import * as path from 'node:path';
import * as vscode from 'vscode';

import { makeNonce, resultsHtml } from './html';
import { isFromWebview, type ToWebview } from './messages';
import type { ParetoView, RunView } from './model';
import type { RunResults } from './runResults';
import type { VariantDocuments } from './variantDocuments';

export const RESULTS_VIEW_TYPE = 'nnevolve.results';

export class ResultsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private document: vscode.Uri | undefined;
  private runId: string | undefined; // the run the user picked; undefined = the newest
  private shown: { runs: RunView[]; runId: string | null; pareto: ParetoView | null } = { runs: [], runId: null, pareto: null };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly results: RunResults,
    private readonly variants: VariantDocuments,
  ) {}

  /** Show the results of `document`'s runs, opening the panel if needed. */
  async show(document: vscode.Uri): Promise<void> {
    if (this.document?.toString() !== document.toString()) {
      this.runId = undefined;
    }
    this.document = document;
    if (this.panel) {
      this.panel.title = this.title();
      this.panel.reveal(undefined, true);
      await this.refresh();
    } else {
      this.panel = this.createPanel(); // its script asks for the data once it is ready
    }
  }

  /** Reload when the panel shows `document` (or any document, when none is given). */
  async refreshIfShowing(document?: vscode.Uri): Promise<void> {
    if (this.panel && (!document || document.toString() === this.document?.toString())) {
      await this.refresh();
    }
  }

  private createPanel(): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel(
      RESULTS_VIEW_TYPE,
      this.title(),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      {
        enableScripts: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
      },
    );
    const webview = panel.webview;
    webview.html = resultsHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'results.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'results.css')).toString(),
    });
    webview.onDidReceiveMessage((message: unknown) => void this.onMessage(message));
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
    return panel;
  }

  private title(): string {
    return `NN Evolve: ${this.document ? path.posix.basename(this.document.path) : 'results'}`;
  }

  private async refresh(): Promise<void> {
    const document = this.document;
    if (!this.panel || !document) {
      return;
    }
    const fileName = path.posix.basename(document.path);
    void this.post({ type: 'loading', fileName });
    let message: ToWebview;
    try {
      const runs = await this.results.runs(document);
      const run = runs.find((r) => r.id === this.runId) ?? runs[0];
      const pareto = run ? await this.results.pareto(run, document) : null;
      this.shown = { runs, runId: run?.id ?? null, pareto };
      if (run && pareto) {
        this.results.remember(run.id, pareto);
      }
      message = { type: 'show', fileName, runs, runId: run?.id ?? null, pareto, error: null };
    } catch (error) {
      this.shown = { runs: [], runId: null, pareto: null };
      message = { type: 'show', fileName, runs: [], runId: null, pareto: null, error: `Cannot load the results: ${errorText(error)}` };
    }
    await this.post(message);
  }

  private async post(message: ToWebview): Promise<void> {
    await this.panel?.webview.postMessage(message);
  }

  private async onMessage(message: unknown): Promise<void> {
    if (!isFromWebview(message) || !this.document) {
      return;
    }
    const document = this.document;
    switch (message.type) {
      case 'ready':
      case 'refresh':
        await this.refresh();
        return;
      case 'selectRun':
        this.runId = message.run;
        await this.refresh();
        return;
      case 'showDiff':
      case 'apply': {
        const variant = this.shown.pareto?.variants.find((v) => v.key === message.variant);
        const run = this.shown.runId;
        if (!variant || run === null) {
          return;
        }
        try {
          if (message.type === 'showDiff') {
            await this.variants.showDiff(document, run, variant);
          } else {
            await this.results.apply(document, run, variant);
          }
        } catch (error) {
          void vscode.window.showErrorMessage(`NN Evolve: ${errorText(error)}`);
        }
        return;
      }
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
