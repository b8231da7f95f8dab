/** The status-bar item shown while an evolution run is active. */
import * as vscode from 'vscode';

import type { ActiveRun } from './progress';

export const SHOW_RUN_PROGRESS_COMMAND = 'nnevolve.showRunProgress';

export class RunStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('nnevolve.run', vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = 'NN Evolve run';
    this.item.command = SHOW_RUN_PROGRESS_COMMAND;
  }

  update(runs: readonly ActiveRun[]): void {
    void vscode.commands.executeCommand('setContext', 'nnevolve.runActive', runs.length > 0);
    const run = runs[0];
    if (run === undefined) {
      this.item.hide();
      return;
    }
    const percent = run.percentage === undefined ? '' : ` ${Math.round(run.percentage)}%`;
    const more = runs.length > 1 ? ` (+${runs.length - 1})` : '';
    this.item.text = `$(sync~spin) NN Evolve${percent}${more}`;
    this.item.tooltip = runs
      .map((r) => `${r.title}${r.cancelling ? ' (cancelling)' : ''}${r.message ? ` · ${r.message}` : ''}`)
      .concat('Click to show progress or cancel')
      .join('\n');
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
