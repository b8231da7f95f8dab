/** Read-only documents of variants (`nnevolve-variant:`), for VS Code's diff editor. */
import * as path from 'node:path';
import * as vscode from 'vscode';

import { parseVariantDocumentPath, VARIANT_SCHEME, variantDocumentPath, type VariantView } from './model';
import type { RunResults } from './runResults';

export class VariantDocuments implements vscode.TextDocumentContentProvider {
  constructor(private readonly results: RunResults) {}

  register(): vscode.Disposable {
    return vscode.workspace.registerTextDocumentContentProvider(VARIANT_SCHEME, this);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const names = parseVariantDocumentPath(uri.path);
    if (!names) {
      return '# not an nnevolve variant\n';
    }
    let variant = this.results.known(names.run, names.variantKey);
    if (!variant) {
      // the query names the model file, so the server knows which run store to read
      const pareto = await this.results.pareto(names.run, uri.query ? vscode.Uri.parse(uri.query) : undefined);
      variant = pareto.variants.find((v) => v.key === names.variantKey);
    }
    return variant?.source ?? `# variant ${names.variantKey} of run ${names.run} is no longer in the run store\n`;
  }

  /** Open VS Code's diff editor: the file as it is now against the variant. */
  async showDiff(document: vscode.Uri, run: string, variant: VariantView): Promise<void> {
    const fileName = path.posix.basename(document.path);
    const variantUri = vscode.Uri.from({
      scheme: VARIANT_SCHEME,
      path: variantDocumentPath(run, variant.key, fileName),
      query: document.toString(),
    });
    await vscode.commands.executeCommand(
      'vscode.diff',
      document,
      variantUri,
      `${fileName} ↔ variant ${variant.label}`,
      // in the model's own editor group, so the results view beside it stays open
      { preview: true, viewColumn: modelColumn(document) },
    );
  }
}

/** The editor group that shows ``document`` (the first group when none does). */
function modelColumn(document: vscode.Uri): vscode.ViewColumn {
  const shown = vscode.window.visibleTextEditors.find(
    (editor) => editor.document.uri.toString() === document.toString(),
  );
  return shown?.viewColumn ?? vscode.ViewColumn.One;
}
