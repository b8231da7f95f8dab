import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { enabledTypes, LatestAnswers, marksByType, parseLineTypes, type LineTypeItem, type LineType } from '../lineMarks';

function item(type: LineType, line: number, col: number, endLine = line, endCol = col + 10): LineTypeItem {
  return { range: { start: { line, character: col }, end: { line: endLine, character: endCol } }, type, name: '', detail: '' };
}

describe('reading nnevolve/lineTypes answers', () => {
  it('keeps well-formed items and skips unknown types and broken ranges', () => {
    const answer = parseLineTypes({
      version: 7,
      items: [
        { range: { start: { line: 4, character: 8 }, end: { line: 4, character: 30 } }, type: 'connection', name: 'torch.nn.Conv2d', detail: 'Conv2d 1→8, 3×3' },
        { range: { start: { line: 5, character: 8 }, end: { line: 5, character: 17 } }, type: 'teleporter', name: 'x', detail: '' },
        { range: { start: { line: -1, character: 0 }, end: { line: 0, character: 1 } }, type: 'activation' },
        { range: { start: { line: 9, character: 0 }, end: { line: 8, character: 0 } }, type: 'activation' },
        'garbage',
      ],
    });
    assert.equal(answer?.version, 7);
    assert.deepEqual(answer?.items.map((i) => [i.type, i.range.start.line, i.name]), [['connection', 4, 'torch.nn.Conv2d']]);
  });

  it('rejects answers that are not answers, and reads a missing version as null', () => {
    assert.equal(parseLineTypes(null), undefined);
    assert.equal(parseLineTypes({ version: 1 }), undefined);
    assert.deepEqual(parseLineTypes({ version: null, items: [] }), { version: null, items: [] });
  });
});

describe('decoration ranges from line-type items', () => {
  const all = new Set<LineType>(['connection', 'activation', 'pooling']);

  it('tints every line of a call that spans lines and puts the icon on its first line', () => {
    const marks = marksByType([item('connection', 10, 8, 12, 9)], all);
    assert.deepEqual(marks.get('connection'), { tints: [{ first: 10, last: 12 }], icons: [10] });
  });

  it('does not tint the next line when a range ends at its column 0', () => {
    const marks = marksByType([item('connection', 3, 4, 4, 0)], all);
    assert.deepEqual(marks.get('connection')?.tints, [{ first: 3, last: 3 }]);
  });

  it('gives a line one icon, of its first item, when several items share it', () => {
    const marks = marksByType([item('activation', 6, 30), item('connection', 6, 4), item('pooling', 7, 4)], all);
    assert.deepEqual(marks.get('connection'), { tints: [{ first: 6, last: 6 }], icons: [6] });
    assert.deepEqual(marks.get('activation'), { tints: [{ first: 6, last: 6 }], icons: [] });
    assert.deepEqual(marks.get('pooling'), { tints: [{ first: 7, last: 7 }], icons: [7] });
  });

  it('draws nothing for types that are not enabled', () => {
    const marks = marksByType([item('pooling', 1, 0), item('connection', 2, 0)], new Set<LineType>(['connection']));
    assert.equal(marks.has('pooling'), false);
    assert.deepEqual(marks.get('connection')?.icons, [2]);
  });

  it('enables connection and activation by default and ignores unknown names', () => {
    assert.deepEqual([...enabledTypes(undefined)], ['connection', 'activation']);
    assert.deepEqual([...enabledTypes(['dropout', 'nonsense', 'loss'])], ['dropout', 'loss']);
    assert.deepEqual([...enabledTypes([])], []);
  });
});

describe('stale answers', () => {
  const uri = 'file:///model.py';

  it('draws an answer for the current version of the last request', () => {
    const latest = new LatestAnswers();
    const ticket = latest.begin(uri);
    assert.equal(latest.accepts(uri, ticket, 3, 3), true);
  });

  it('drops an answer for an older version of the document', () => {
    const latest = new LatestAnswers();
    const ticket = latest.begin(uri);
    assert.equal(latest.accepts(uri, ticket, 3, 4), false);
  });

  it('drops the answer of an earlier request that arrives after a later one was sent', () => {
    const latest = new LatestAnswers();
    const first = latest.begin(uri);
    const second = latest.begin(uri);
    assert.equal(latest.accepts(uri, first, 5, 5), false);
    assert.equal(latest.accepts(uri, second, 5, 5), true);
  });

  it('keeps documents apart and forgets closed ones', () => {
    const latest = new LatestAnswers();
    const a = latest.begin('file:///a.py');
    latest.begin('file:///b.py');
    assert.equal(latest.accepts('file:///a.py', a, 1, 1), true);
    latest.forget('file:///a.py');
    assert.equal(latest.accepts('file:///a.py', a, 1, 1), false);
  });

  it('drops an answer for a document the server does not have', () => {
    const latest = new LatestAnswers();
    const ticket = latest.begin(uri);
    assert.equal(latest.accepts(uri, ticket, null, 1), false);
  });
});
