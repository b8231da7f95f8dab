/**
 * Line marks without VS Code: reading `nnevolve/lineTypes` answers, turning their items into
 * the lines to tint and to mark in the gutter, and dropping answers that arrive too late.
 */

/** The line types of `nnevolve.analysis.LINE_TYPES`, in the server's order. */
export const LINE_TYPES = [
  'connection',
  'activation',
  'normalization',
  'pooling',
  'dropout',
  'reshape',
  'container',
  'optimizer',
  'loss',
  'scheduler',
] as const;

export type LineType = (typeof LINE_TYPES)[number];

/** Line types marked when the user has not chosen: the two the search edits most. */
export const DEFAULT_MARKED_TYPES: readonly LineType[] = ['connection', 'activation'];

export interface Position {
  line: number; // 0-based, as in LSP
  character: number;
}

export interface LineTypeItem {
  range: { start: Position; end: Position };
  type: LineType;
  name: string;
  detail: string;
}

/** The answer to `nnevolve/lineTypes`: `version` is null for a document the server does not have. */
export interface LineTypes {
  version: number | null;
  items: LineTypeItem[];
}

/** Whole lines [first, last] (0-based, inclusive) that one item covers. */
export interface LineSpan {
  first: number;
  last: number;
}

/** What one line type draws: a tint over each item's lines, an icon on some first lines. */
export interface TypeMarks {
  tints: LineSpan[];
  icons: number[];
}

export function isLineType(value: unknown): value is LineType {
  return typeof value === 'string' && (LINE_TYPES as readonly string[]).includes(value);
}

function isPosition(value: unknown): value is Position {
  const p = value as Position | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    Number.isInteger(p.line) &&
    Number.isInteger(p.character) &&
    p.line >= 0 &&
    p.character >= 0
  );
}

/**
 * Read an answer to `nnevolve/lineTypes`; undefined when it is not one.
 *
 * Items with an unknown type or a broken range are left out rather than failing the whole
 * answer: a newer server may know types this client does not.
 */
export function parseLineTypes(raw: unknown): LineTypes | undefined {
  const answer = raw as { version?: unknown; items?: unknown } | null;
  if (typeof answer !== 'object' || answer === null || !Array.isArray(answer.items)) {
    return undefined;
  }
  const version = Number.isInteger(answer.version) ? (answer.version as number) : null;
  const items: LineTypeItem[] = [];
  for (const entry of answer.items as unknown[]) {
    const item = entry as Partial<LineTypeItem> | null;
    if (typeof item !== 'object' || item === null || !isLineType(item.type)) {
      continue;
    }
    const range = item.range as LineTypeItem['range'] | undefined;
    if (!range || !isPosition(range.start) || !isPosition(range.end) || range.end.line < range.start.line) {
      continue;
    }
    items.push({
      range: { start: range.start, end: range.end },
      type: item.type,
      name: typeof item.name === 'string' ? item.name : '',
      detail: typeof item.detail === 'string' ? item.detail : '',
    });
  }
  return { version, items };
}

/**
 * The marks of each enabled line type.
 *
 * Every item tints all of its lines; a line gets one gutter icon only, that of its first
 * enabled item, because stacked icons in the narrow gutter read as noise.
 */
export function marksByType(
  items: readonly LineTypeItem[],
  enabled: ReadonlySet<LineType>,
): Map<LineType, TypeMarks> {
  const marks = new Map<LineType, TypeMarks>();
  for (const type of enabled) {
    marks.set(type, { tints: [], icons: [] });
  }
  const iconLines = new Set<number>();
  const ordered = [...items].sort(
    (a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character,
  );
  for (const item of ordered) {
    const typeMarks = marks.get(item.type);
    if (!typeMarks) {
      continue;
    }
    const first = item.range.start.line;
    // a range that ends at column 0 of a line does not really reach into that line
    const last = item.range.end.character === 0 && item.range.end.line > first ? item.range.end.line - 1 : item.range.end.line;
    typeMarks.tints.push({ first, last });
    if (!iconLines.has(first)) {
      iconLines.add(first);
      typeMarks.icons.push(first);
    }
  }
  return marks;
}

/** The enabled types from the `nnevolve.lineMarks.types` setting; unknown names are ignored. */
export function enabledTypes(setting: unknown): Set<LineType> {
  if (!Array.isArray(setting)) {
    return new Set(DEFAULT_MARKED_TYPES);
  }
  return new Set(setting.filter(isLineType));
}

/**
 * Keeps only the newest answer per document.
 *
 * Requests go out as the user types; an answer is applied only when it is for the request
 * sent last for that document and for the version the document has now. Anything else
 * would draw marks for text that no longer exists.
 */
export class LatestAnswers {
  private readonly lastTicket = new Map<string, number>();
  private nextTicket = 1;

  /** Call before sending a request for `uri`; pass the ticket to `accepts` with its answer. */
  begin(uri: string): number {
    const ticket = this.nextTicket++;
    this.lastTicket.set(uri, ticket);
    return ticket;
  }

  /**
   * Whether an answer may be drawn.
   *
   * @param ticket what `begin` returned for the request
   * @param answerVersion the document version the server analysed (null: unknown to it)
   * @param currentVersion the version the editor has now
   */
  accepts(uri: string, ticket: number, answerVersion: number | null, currentVersion: number): boolean {
    return this.isLatest(uri, ticket) && answerVersion === currentVersion;
  }

  /** Whether `ticket` is the last request sent for `uri`. */
  isLatest(uri: string, ticket: number): boolean {
    return this.lastTicket.get(uri) === ticket;
  }

  forget(uri: string): void {
    this.lastTicket.delete(uri);
  }
}
