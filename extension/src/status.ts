/** The status-bar item shown while an evolution run is active. */
import * as vscode from 'vscode';

import type { ActiveRun } from './progress';
import { stageOf, statusText } from './runWords';

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
    const more = runs.length > 1 ? ` (+${runs.length - 1})` : '';
    // the stage the notification and the lens show, never a percentage alone
    this.item.text = `${statusText(stageOf(run.message), run.percentage, run.cancelling)}${more}`;
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
