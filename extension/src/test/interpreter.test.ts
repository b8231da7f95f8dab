import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  checkFailureMessage,
  chooseInterpreter,
  classifyCheck,
  expandPath,
  IMPORT_CHECK_ARGS,
  initializationOptions,
  installCommand,
  isNnevolveProject,
  SERVER_ARGS,
  SERVER_CWD,
  shellQuote,
} from '../interpreter';

const base = { setting: undefined, pythonExtension: undefined, workspaceFolder: '/work/proj', home: '/home/ada', platform: 'linux' as const };

describe('interpreter choice', () => {
  it('uses the nnevolve.pythonPath setting first', () => {
    assert.deepEqual(chooseInterpreter({ ...base, setting: '/opt/py/bin/python', pythonExtension: '/usr/bin/python3.12' }), {
      command: '/opt/py/bin/python',
      source: 'setting',
    });
  });

  it("uses the Python extension's interpreter when the setting is empty", () => {
    assert.deepEqual(chooseInterpreter({ ...base, setting: '  ', pythonExtension: '/work/proj/.venv/bin/python' }), {
      command: '/work/proj/.venv/bin/python',
      source: 'python extension',
    });
  });

  it('falls back to python3 (python on Windows)', () => {
    assert.deepEqual(chooseInterpreter(base), { command: 'python3', source: 'default' });
    assert.deepEqual(chooseInterpreter({ ...base, platform: 'win32' }), { command: 'python', source: 'default' });
  });

  it('expands ${workspaceFolder}, ${userHome} and ~, and resolves relative paths in the workspace', () => {
    assert.equal(expandPath('${workspaceFolder}/.venv/bin/python', '/work/proj', '/home/ada', 'linux'), '/work/proj/.venv/bin/python');
    assert.equal(expandPath('~/envs/nn/bin/python', '/work/proj', '/home/ada', 'linux'), '/home/ada/envs/nn/bin/python');
    assert.equal(expandPath('${userHome}/py', undefined, '/home/ada', 'linux'), '/home/ada/py');
    assert.equal(expandPath('.venv/bin/python', '/work/proj', '/home/ada', 'linux'), '/work/proj/.venv/bin/python');
  });

  it('keeps a bare interpreter name for a PATH lookup', () => {
    assert.equal(expandPath('python3.11', '/work/proj', '/home/ada', 'linux'), 'python3.11');
  });
});

describe('import check', () => {
  it('is fine when the check exits with 0', () => {
    assert.deepEqual(classifyCheck({ exitCode: 0, stderr: '' }), { ok: true });
  });

  it('tells a missing interpreter from a missing package from a broken one', () => {
    assert.deepEqual(classifyCheck({ spawnError: 'ENOENT', exitCode: null, stderr: '' }), {
      ok: false,
      problem: 'not found',
      detail: 'ENOENT',
    });
    const missing = classifyCheck({
      exitCode: 1,
      stderr: 'Traceback (most recent call last):\n  File "<string>", line 1\nModuleNotFoundError: No module named \'nnevolve\'\n',
    });
    assert.equal(missing.ok ? '' : missing.problem, 'not installed');
    const broken = classifyCheck({ exitCode: 1, stderr: "ModuleNotFoundError: No module named 'pygls'\n" });
    assert.deepEqual(broken, { ok: false, problem: 'broken', detail: "ModuleNotFoundError: No module named 'pygls'" });
    const hung = classifyCheck({ spawnError: 'ETIMEDOUT', exitCode: null, stderr: '' });
    assert.equal(hung.ok ? '' : hung.problem, 'broken');
  });

  it('says which interpreter, where it came from, and the fix', () => {
    const message = checkFailureMessage(
      { command: 'python3', source: 'default' },
      { ok: false, problem: 'not installed', detail: '' },
    );
    assert.match(message, /nnevolve is not installed in python3 \(the default; set nnevolve\.pythonPath/);
    assert.match(message, /Install it there, or set nnevolve\.pythonPath/);
  });
});

describe('install command', () => {
  it('installs from PyPI, or editable from a workspace that is nnevolve itself', () => {
    assert.equal(installCommand('/usr/bin/python3', 'linux'), '/usr/bin/python3 -m pip install nnevolve');
    assert.equal(installCommand('/w/.venv/bin/python', 'linux', '/w'), '/w/.venv/bin/python -m pip install -e /w');
  });

  it('quotes paths with spaces for the shell', () => {
    assert.equal(shellQuote("/My Envs/it's/python", 'linux'), `'/My Envs/it'\\''s/python'`);
    assert.equal(installCommand('C:\\Py 3\\python.exe', 'win32'), '& "C:\\Py 3\\python.exe" -m pip install nnevolve');
  });

  it("recognises nnevolve's own pyproject.toml only", () => {
    assert.equal(isNnevolveProject('[project]\nname = "nnevolve"\nversion = "0.1.0"\n'), true);
    assert.equal(isNnevolveProject('[project]\nname = "mynet"\n[tool.nnevolve]\ndataset = "digits"\n'), false);
    assert.equal(isNnevolveProject('[tool.other]\nname = "nnevolve"\n'), false);
  });
});

describe('workspace isolation and trust', () => {
  // tests/lsp/test_workspace_isolation.py starts the server with src/serverLaunch.json's arguments
  const launch = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'serverLaunch.json'), 'utf8'));

  it('starts the server and the import check with the tested arguments', () => {
    assert.deepEqual(SERVER_ARGS, launch.server);
    assert.deepEqual(IMPORT_CHECK_ARGS, launch.importCheck);
  });

  it('drops the working directory from sys.path before importing anything', () => {
    for (const args of [SERVER_ARGS, IMPORT_CHECK_ARGS]) {
      assert.equal(args[0], '-c');
      assert.match(args[1] ?? '', /^import sys; sys\.path\[:\] = \[p for p in sys\.path if p not in \(''/);
    }
    assert.match(SERVER_ARGS[1] ?? '', /runpy\.run_module\('nnevolve\.lsp', run_name='__main__'/);
  });

  it("runs in the extension's own folder, not the workspace", () => {
    assert.equal(SERVER_CWD, path.resolve(__dirname, '..'));
  });

  it('tells the server whether the workspace is trusted and whether to keep an engine started', () => {
    assert.deepEqual(initializationOptions(false, true), { workspaceTrusted: false, prestartEngine: true });
    assert.deepEqual(initializationOptions(true, true), { workspaceTrusted: true, prestartEngine: true });
    assert.deepEqual(initializationOptions(true, false), { workspaceTrusted: true, prestartEngine: false });
  });

  it('declares the prestartEngine setting, on by default, saying what it costs and buys', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const setting = manifest.contributes.configuration.properties['nnevolve.prestartEngine'];
    assert.equal(setting.type, 'boolean');
    assert.equal(setting.default, true);
    assert.match(setting.markdownDescription, /memory/);
    assert.match(setting.markdownDescription, /seconds/);
  });

  it('declares limited support for untrusted workspaces, the interpreter setting restricted', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const untrusted = manifest.capabilities.untrustedWorkspaces;
    assert.equal(untrusted.supported, 'limited');
    assert.match(untrusted.description, /trusted workspace/);
    assert.deepEqual(untrusted.restrictedConfigurations, ['nnevolve.pythonPath']);
  });
});
