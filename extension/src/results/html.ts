/** The results webview's page: a strict content security policy, one nonce'd script. */
import { randomBytes } from 'node:crypto';

export interface PageResources {
  cspSource: string; // webview.cspSource
  scriptUri: string;
  styleUri: string;
  nonce: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

/** The page's HTML; everything it shows is drawn by the script from posted messages. */
export function resultsHtml({ cspSource, scriptUri, styleUri, nonce }: PageResources): string {
  const policy = [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(styleUri)}">
<title>NN Evolve results</title>
</head>
<body>
<main id="results" aria-live="polite"><p class="note">Loading…</p></main>
<script nonce="${nonce}" src="${escapeAttribute(scriptUri)}"></script>
</body>
</html>`;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
