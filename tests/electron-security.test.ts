// Electronegativity over the Electron shell (sources and the built bundle) must find nothing of
// MEDIUM severity or more; and the check must fail on a window that drops the sandbox.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function check(...targets: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'electron/check-security.ts', ...targets], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

test('electronegativity: the shell passes, an unsafe window fails', async () => {
  execFileSync(process.execPath, ['--import', 'tsx', 'electron/build.ts'], { cwd: root, stdio: 'inherit' });
  const fixture = await mkdtemp(join(tmpdir(), 'enhance-unsafe-window-'));
  try {
    await writeFile(join(fixture, 'main.js'), [
      "const { app, BrowserWindow } = require('electron');",
      "app.whenReady().then(() => new BrowserWindow({ webPreferences: { sandbox: false, contextIsolation: false } }).loadURL('http://example.com/'));",
    ].join('\n'));
    // Independent runs, so at the same time.
    const [shell, unsafe] = await Promise.all([check(), check(fixture)]);
    assert.equal(shell.code, 0, shell.output);
    assert.match(shell.output, /electron security check passed/);
    assert.equal(unsafe.code, 1, unsafe.output);
    for (const id of ['SANDBOX_JS_CHECK', 'CONTEXT_ISOLATION_JS_CHECK', 'HTTP_RESOURCES_JS_CHECK', 'LIMIT_NAVIGATION_GLOBAL_CHECK']) {
      assert.match(unsafe.output, new RegExp(`${id} [^\\n]*\\n[^\\n]*\\n(?:    > [^\\n]*\\n)?    FAIL`), id);
    }
  } finally {
    await rm(fixture, { recursive: true, force: true });
  }
});
