/**
 * The server's progress words, read for the status bar and the end-of-run notification. Kept
 * free of the `vscode` module so it can be tested in plain Node.
 *
 * A report's message starts with the run's stage (`generation 2/8`, `writing the variants`),
 * then ` · ` and its counts; the code lens shows the same stage. A run's end message starts
 * with `Finished` or `Cancelled` when it has results to show; a failure's end is the server's
 * error message, which the server also shows itself (one notification, not two).
 */

/** The stage a progress message starts with: `generation 2/8 · 27 variants …` → `generation 2/8`. */
export function stageOf(message: string | undefined): string | undefined {
  const stage = message?.split(' · ')[0]?.trim();
  return stage ? stage : undefined;
}

/** Whether a run's end message announces results worth a "Show results" notification. */
export function endsWithResults(message: string | undefined): boolean {
  return message !== undefined && /^(Finished|Cancelled)\b/.test(message);
}

/** The status-bar text: the same stage as the notification and the lens, then the percentage. */
export function statusText(stage: string | undefined, percentage: number | undefined, cancelling: boolean): string {
  const where = cancelling ? 'cancelling…' : stage;
  const percent = percentage === undefined || cancelling ? '' : ` ${Math.round(percentage)}%`;
  return `$(sync~spin) NN Evolve${where ? `: ${where}` : ''}${percent}`;
}
