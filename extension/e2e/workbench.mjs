// Helpers that drive the VS Code workbench in the browser the way a user does: command palette,
// quick open, mouse hovers, the code-action menu, notifications, the status bar, webviews.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const LINE_TYPES = [
  'connection', 'activation', 'normalization', 'pooling', 'dropout',
  'reshape', 'container', 'optimizer', 'loss', 'scheduler',
];

const PALETTE_INPUT = '.quick-input-widget input';

export class Workbench {
  constructor(page, artifacts) {
    this.page = page;
    this.artifacts = artifacts;
    this.shots = [];
  }

  async waitReady(timeout = 60_000) {
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout });
    await this.page.locator('.part.statusbar').waitFor({ state: 'visible', timeout });
  }

  async screenshot(name) {
    const file = path.join(this.artifacts, `${name}.png`);
    try {
      await this.page.screenshot({ path: file, timeout: 15_000 });
      this.shots.push(file);
    } catch (error) {
      console.error(`screenshot ${name} failed: ${error.message}`);
    }
    return file;
  }

  /** The active editor's DOM, to see why a check on decorations failed. */
  async saveEditorHtml(name) {
    try {
      const html = await this.page.evaluate(
        () => document.querySelector('.part.editor .editor-group-container.active .monaco-editor')?.outerHTML ?? '',
      );
      writeFileSync(path.join(this.artifacts, name), html);
    } catch (error) {
      console.error(`saving the editor's HTML failed: ${error.message}`);
    }
  }

  async closeQuickInput() {
    if (await this.page.locator('.quick-input-widget').isVisible()) {
      await this.page.keyboard.press('Escape');
    }
  }

  /** Run a command from the palette by its full label ("NN Evolve: Evolve this network"). */
  async runCommand(label, timeout = 20_000) {
    await this.closeQuickInput();
    await this.page.keyboard.press('F1');
    const input = this.page.locator(PALETTE_INPUT);
    await input.waitFor({ state: 'visible', timeout });
    await input.fill(`>${label}`);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    await row.waitFor({ state: 'visible', timeout });
    await row.click();
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout });
  }

  /** Open a workspace file through quick open and wait for its editor. */
  async openFile(name, timeout = 30_000) {
    await this.closeQuickInput();
    await this.page.keyboard.press('F1');
    const input = this.page.locator(PALETTE_INPUT);
    await input.waitFor({ state: 'visible', timeout });
    await input.fill(name);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
    await row.waitFor({ state: 'visible', timeout });
    await row.click();
    await this.page.locator(`.tab.active[aria-label*="${name}"]`).first().waitFor({ state: 'visible', timeout });
    await this.editor().locator('.view-lines').waitFor({ state: 'visible', timeout });
  }

  /** The active text editor (not a diff editor or a webview). */
  editor() {
    return this.page.locator('.part.editor .editor-group-container.active .monaco-editor').first();
  }

  /**
   * What the active editor renders, line by line: the text, the nnevolve gutter icon (by the
   * icon file's type name), and which nnevolve tints cover the line.
   */
  async renderedLines() {
    return this.page.evaluate((types) => {
      const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
      if (!editor) {
        return [];
      }
      // the tints are theme colours: resolve each type's CSS variable to compare computed colours
      const probe = document.createElement('div');
      editor.appendChild(probe);
      const tintColors = {};
      for (const type of types) {
        probe.style.backgroundColor = `var(--vscode-nnevolve-lineMark-${type})`;
        tintColors[getComputedStyle(probe).backgroundColor] = type;
      }
      probe.remove();
      const top = (element) => element.getBoundingClientRect().top;
      const near = (a, b) => Math.abs(a - b) < 4;
      const numbers = [...editor.querySelectorAll('.margin-view-overlays .line-numbers')];
      const texts = [...editor.querySelectorAll('.view-lines .view-line')];
      const icons = [...editor.querySelectorAll('.margin .cgmr, .glyph-margin-widgets .cgmr')].map((element) => ({
        top: top(element),
        image: getComputedStyle(element).backgroundImage,
      }));
      const tints = [...editor.querySelectorAll('.view-overlays .cdr')].map((element) => ({
        top: top(element),
        type: tintColors[getComputedStyle(element).backgroundColor],
      }));
      return numbers
        .map((element) => {
          const y = top(element);
          // a file URI in the remote resource URL: `...path=%2F...%2Fmedia%2Fconnection.svg`
          const iconType = (image) => /media(?:\/|%2F)([a-z]+)\.svg/i.exec(image)?.[1] ?? null;
          const icon = icons.find((i) => near(i.top, y) && iconType(i.image));
          return {
            line: Number(element.textContent.trim()),
            text: (texts.find((t) => near(top(t), y))?.textContent ?? '').replace(/\u00a0/g, ' '),
            icon: icon ? iconType(icon.image) : null,
            tints: [...new Set(tints.filter((t) => near(t.top, y) && t.type).map((t) => t.type))],
          };
        })
        .filter((line) => Number.isInteger(line.line))
        .sort((a, b) => a.line - b.line);
    }, LINE_TYPES);
  }

  /** Screen coordinates of `substring` in a rendered line of the active editor. */
  async textPosition(lineNumber, substring) {
    const box = await this.page.evaluate(
      ({ lineNumber, substring }) => {
        const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
        const number = [...editor.querySelectorAll('.margin-view-overlays .line-numbers')].find(
          (element) => Number(element.textContent.trim()) === lineNumber,
        );
        if (!number) {
          return null;
        }
        const y = number.getBoundingClientRect().top;
        const line = [...editor.querySelectorAll('.view-lines .view-line')].find(
          (element) => Math.abs(element.getBoundingClientRect().top - y) < 4,
        );
        if (!line) {
          return null;
        }
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        const nodes = [];
        let text = '';
        while (walker.nextNode()) {
          nodes.push({ node: walker.currentNode, start: text.length });
          text += walker.currentNode.textContent;
        }
        const index = text.replace(/\u00a0/g, ' ').indexOf(substring);
        if (index < 0) {
          return null;
        }
        const at = (offset) => {
          const entry = [...nodes].reverse().find((n) => n.start <= offset);
          return { node: entry.node, offset: offset - entry.start };
        };
        const range = document.createRange();
        const start = at(index);
        const end = at(index + substring.length - 1);
        range.setStart(start.node, start.offset);
        range.setEnd(end.node, end.offset + 1);
        const rect = range.getBoundingClientRect();
        return { x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 };
      },
      { lineNumber, substring },
    );
    if (!box) {
      throw new Error(`line ${lineNumber} with "${substring}" is not rendered in the editor`);
    }
    return box;
  }

  /** Hover over `substring` on a line and return the visible hover's text. */
  async hover(lineNumber, substring, timeout = 15_000) {
    const { x, y } = await this.textPosition(lineNumber, substring);
    await this.page.mouse.move(x - 40, y + 40);
    await this.page.mouse.move(x, y, { steps: 4 });
    const hover = this.page.locator('.monaco-hover:visible .monaco-hover-content').first();
    await hover.waitFor({ state: 'visible', timeout });
    return (await hover.innerText()).trim();
  }

  async click(lineNumber, substring) {
    const { x, y } = await this.textPosition(lineNumber, substring);
    await this.page.mouse.click(x, y);
  }

  async notificationTexts() {
    return this.page.locator('.notifications-toasts .notification-toast').allInnerTexts();
  }

  /**
   * Start timing, in the page, a cancel of the run shown: from the next click (its pointerdown)
   * to the moment its status-bar item and its "Evolving" notification are both gone. Both are
   * page-clock times (Date.now), without the driver's polling in between. Returns a function
   * that answers `{ clickedAt, shownAtClick, endedAt, statusGoneAt, toastGoneAt }` (null while not
   * yet seen).
   */
  async timeCancel(statusId = 'nnevolve.run', toastText = 'Evolving') {
    await this.page.evaluate(({ statusId, toastText }) => {
      // the run's own status-bar item (its element id ends with the item's id), not any item
      // that says "NN Evolve" (a transient status message such as "line marks shown" lasts 2.5 s)
      const statusShown = () =>
        [...document.querySelectorAll('.part.statusbar .statusbar-item')].some(
          (item) => item.id.endsWith(`.${statusId}`) && item.offsetParent !== null,
        );
      const toastShown = () =>
        [...document.querySelectorAll('.notifications-toasts .notification-toast')].some(
          (toast) => toast.textContent.includes(toastText) && toast.offsetParent !== null,
        );
      const timing = { clickedAt: null, shownAtClick: null, endedAt: null, statusGoneAt: null, toastGoneAt: null };
      window.__nnevolveCancel = timing;
      const check = () => {
        if (timing.clickedAt === null || timing.endedAt !== null) {
          return;
        }
        timing.statusGoneAt ??= statusShown() ? null : Date.now();
        timing.toastGoneAt ??= toastShown() ? null : Date.now();
        if (timing.statusGoneAt !== null && timing.toastGoneAt !== null) {
          timing.endedAt = Date.now();
          observer.disconnect();
        }
      };
      const observer = new MutationObserver(check);
      window.addEventListener(
        'pointerdown',
        () => {
          timing.clickedAt ??= Date.now();
          timing.shownAtClick = statusShown() && toastShown();
          observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
          check();
        },
        { capture: true, once: true },
      );
    }, { statusId, toastText });
    return () => this.page.evaluate(() => ({ ...window.__nnevolveCancel }));
  }

  /** The code lens of the active editor whose text has `text`. */
  codeLens(text) {
    return this.editor().locator('.codelens-decoration a', { hasText: text }).first();
  }

  statusItem(text) {
    return this.page.locator('.part.statusbar .statusbar-item', { hasText: text }).first();
  }

  /** The frame of a webview whose document has `selector` (webviews are nested iframes). */
  async webviewFrameWith(selector, timeout = 30_000) {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        try {
          if ((await frame.locator(selector).count()) > 0) {
            return frame;
          }
        } catch {
          // a frame that navigated away while we asked
        }
      }
      await this.page.waitForTimeout(250);
    }
    throw new Error(`no webview shows ${selector} within ${timeout / 1000} s`);
  }
}
