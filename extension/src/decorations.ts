/**
 * Line marks in the editor: a gutter icon and a theme-aware tint per line type, drawn from
 * the server's `nnevolve/lineTypes` answers.
 *
 * Decorations, unlike semantic tokens, merge with Pylance's. While the user types, VS Code
 * moves the old marks along with the text; new ones replace them only when an answer for
 * the current version arrives, so nothing flickers.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';

import { enabledTypes, LatestAnswers, LINE_TYPES, LineType, LineTypes, marksByType, parseLineTypes } from './lineMarks';

export const LINE_TYPES_REQUEST = 'nnevolve/lineTypes';
const DEFAULT_DELAY_MS = 250;
const RETRY_DELAY_MS = 500;
const MAX_RETRIES = 5;

interface TypeDecorations {
  tint: vscode.TextEditorDecorationType;
  icon: vscode.TextEditorDecorationType;
}

export class LineMarks implements vscode.Disposable {
  private readonly decorations = new Map<LineType, TypeDecorations>();
  private readonly answers = new Map<string, LineTypes>(); // last drawn answer per document
  private readonly latest = new LatestAnswers();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly retries = new Map<string, number>();
  private readonly disposables: vscode.Disposable[] = [];
  private visible = true; // the toggle command's state for this window
  private reportedFailure = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly getClient: () => LanguageClient | undefined,
    private readonly output: vscode.LogOutputChannel,
  ) {
    for (const type of LINE_TYPES) {
      this.decorations.set(type, this.createDecorations(type));
    }
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (isPython(event.document) && event.contentChanges.length > 0) {
          this.schedule(event.document, this.delay());
        }
      }),
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        editors.filter((editor) => isPython(editor.document)).forEach((editor) => this.showIn(editor));
      }),
      vscode.workspace.onDidCloseTextDocument((document) => this.forget(document.uri.toString())),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('nnevolve.lineMarks')) {
          this.visible = this.enabledInSettings();
          this.redrawAll();
        }
      }),
    );
    this.visible = this.enabledInSettings();
  }

  /** Hide or show the marks in this window; returns whether they are now shown. */
  toggle(): boolean {
    this.visible = !this.visible;
    this.redrawAll();
    return this.visible;
  }

  /** Ask for fresh marks in every visible Python editor (after the server (re)starts). */
  refreshAll(): void {
    this.reportedFailure = false;
    for (const editor of vscode.window.visibleTextEditors) {
      if (isPython(editor.document)) {
        this.schedule(editor.document, 0);
      }
    }
  }

  private showIn(editor: vscode.TextEditor): void {
    const answer = this.answers.get(editor.document.uri.toString());
    if (answer && answer.version === editor.document.version) {
      this.draw(editor, answer);
    } else {
      this.schedule(editor.document, 0);
    }
  }

  private schedule(document: vscode.TextDocument, delayMs: number): void {
    const uri = document.uri.toString();
    clearTimeout(this.timers.get(uri));
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        void this.refresh(document);
      }, delayMs),
    );
  }

  private async refresh(document: vscode.TextDocument): Promise<void> {
    const client = this.getClient();
    if (!client || document.isClosed) {
      return;
    }
    const uri = document.uri.toString();
    const ticket = this.latest.begin(uri);
    let answer: LineTypes | undefined;
    try {
      answer = parseLineTypes(await client.sendRequest(LINE_TYPES_REQUEST, { textDocument: { uri } }));
    } catch (error) {
      if (!this.reportedFailure) {
        this.reportedFailure = true; // one line per server start, not one per keystroke
        this.output.warn(`${LINE_TYPES_REQUEST} failed: ${String(error)}`);
      }
      return;
    }
    if (!answer || !this.latest.accepts(uri, ticket, answer.version, document.version)) {
      // usually a newer request is already on its way; if none is, the server lagged: ask again
      const retries = this.retries.get(uri) ?? 0;
      if (answer && !this.timers.has(uri) && this.latest.isLatest(uri, ticket) && retries < MAX_RETRIES) {
        this.retries.set(uri, retries + 1);
        this.schedule(document, RETRY_DELAY_MS);
      }
      return;
    }
    this.retries.delete(uri);
    this.answers.set(uri, answer);
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === uri) {
        this.draw(editor, answer);
      }
    }
  }

  private draw(editor: vscode.TextEditor, answer: LineTypes): void {
    const shown = this.visible ? this.markedTypes() : new Set<LineType>();
    const marks = marksByType(answer.items, shown);
    for (const [type, decorations] of this.decorations) {
      const typeMarks = marks.get(type);
      editor.setDecorations(
        decorations.tint,
        (typeMarks?.tints ?? []).map((span) => new vscode.Range(span.first, 0, span.last, 0)),
      );
      editor.setDecorations(
        decorations.icon,
        (typeMarks?.icons ?? []).map((line) => new vscode.Range(line, 0, line, 0)),
      );
    }
  }

  private redrawAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const answer = this.answers.get(editor.document.uri.toString());
      if (answer) {
        this.draw(editor, answer);
      }
    }
  }

  private forget(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.answers.delete(uri);
    this.retries.delete(uri);
    this.latest.forget(uri);
  }

  private createDecorations(type: LineType): TypeDecorations {
    return {
      tint: vscode.window.createTextEditorDecorationType({
        isWholeLine: true,
        backgroundColor: new vscode.ThemeColor(`nnevolve.lineMark.${type}`),
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      }),
      icon: vscode.window.createTextEditorDecorationType({
        isWholeLine: true,
        gutterIconPath: vscode.Uri.joinPath(this.extensionUri, 'media', `${type}.svg`),
        gutterIconSize: '80%',
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      }),
    };
  }

  private markedTypes(): Set<LineType> {
    return enabledTypes(vscode.workspace.getConfiguration('nnevolve.lineMarks').get('types'));
  }

  private enabledInSettings(): boolean {
    return vscode.workspace.getConfiguration('nnevolve.lineMarks').get<boolean>('enabled', true);
  }

  private delay(): number {
    const value = vscode.workspace.getConfiguration('nnevolve.lineMarks').get<number>('delay', DEFAULT_DELAY_MS);
    return Number.isFinite(value) && value >= 0 ? value : DEFAULT_DELAY_MS;
  }

  dispose(): void {
    this.timers.forEach((timer) => clearTimeout(timer));
    this.decorations.forEach((d) => {
      d.tint.dispose();
      d.icon.dispose();
    });
    this.disposables.forEach((d) => d.dispose());
  }
}

function isPython(document: vscode.TextDocument): boolean {
  return document.languageId === 'python' && (document.uri.scheme === 'file' || document.uri.scheme === 'untitled');
}
