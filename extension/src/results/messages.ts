/** Messages between the results panel (extension side) and its webview script. */
import type { ParetoView, RunView } from './model';

export type ToWebview =
  | { type: 'loading'; fileName: string }
  | {
      type: 'show';
      fileName: string;
      runs: RunView[];
      runId: string | null; // the run shown; null when the file has none
      pareto: ParetoView | null;
      error: string | null; // why nothing can be shown
    };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'selectRun'; run: string }
  | { type: 'showDiff'; variant: string }
  | { type: 'apply'; variant: string };

/** Whether a message from the webview has the expected shape (the webview is untrusted input). */
export function isFromWebview(message: unknown): message is FromWebview {
  const m = message as { type?: unknown; run?: unknown; variant?: unknown } | null;
  if (typeof m !== 'object' || m === null) {
    return false;
  }
  switch (m.type) {
    case 'ready':
    case 'refresh':
      return true;
    case 'selectRun':
      return typeof m.run === 'string';
    case 'showDiff':
    case 'apply':
      return typeof m.variant === 'string';
    default:
      return false;
  }
}
