// Fixtures of the engine and batch tests: small real models through the real exporter, generated
// photos, file listings, and the CLI as a user runs it (in this process, or spawned to be signalled).
import { type ChildProcess, spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelDescriptor, Task } from '../../common/model-descriptor.ts';
import { command } from '../../cli/commands/enhance-folder.ts';
import { exportOnnx } from '../../trainer/export/onnx-export.ts';
import { initialValues } from '../../trainer/models/init.ts';
import { createUNet } from '../../trainer/models/unet.ts';
import { Rng } from '../../trainer/rng.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A U-Net with widths 8-16-32 as ONNX bytes. `noise` randomises every weight (the fresh head is
 * zero, so without noise the model is the identity, ×1, or bicubic); `descriptor` overrides what
 * its metadata says, to build a model whose graph disagrees with it.
 */
export function tinyModel(task: Task, scale: 1 | 2 | 4, o: { noise?: number; seed?: number; descriptor?: Partial<ModelDescriptor> } = {}): Uint8Array {
  const def = createUNet({ task, scale, widths: [8, 16, 32] });
  const rng = new Rng(o.seed ?? 7);
  const noise = o.noise ?? 0;
  const weights = new Map(def.params.map((p) => [p.name, noise ? initialValues(p, 1).map((v) => v + rng.normal() * noise) : initialValues(p, 1)]));
  return exportOnnx(o.descriptor ? { ...def, descriptor: { ...def.descriptor!, ...o.descriptor } } : def, weights);
}

/** A smooth pattern plus per-pixel texture, so both context and detail matter to the network. */
export function pattern(widthPx: number, heightPx: number, channels: number, seed = 1): Buffer {
  const rng = new Rng(seed);
  const px = Buffer.alloc(widthPx * heightPx * channels);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      for (let c = 0; c < channels; c++) {
        const v = 128 + 90 * Math.sin(x / (7 + c * 3) + y / (11 - c)) + 30 * (rng.next() - 0.5);
        px[(y * widthPx + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return px;
}

/** Every file under `d` (hidden ones included, so temp files show), relative and sorted; the batch's journal is left out. */
export async function tree(d: string): Promise<string[]> {
  const entries = await readdir(d, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name !== '.enhance-journal').map((e) => relative(d, join(e.parentPath, e.name))).sort();
}

/** The batch command run in this process, as `enhance <args>` would run it; stderr is captured. */
export async function runCommand(args: string[]): Promise<{ code: number; stderr: string }> {
  const [task, ...rest] = args;
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await command(task as Task).run(rest), stderr };
  } finally {
    process.stderr.write = write;
  }
}

/** The CLI in its own process, so a test can signal it. */
export function spawnCli(args: string[]): { child: ChildProcess; stderr: () => string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/enhance.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) => child.on('exit', (code, signal) => res({ code, signal, stderr })));
  return { child, stderr: () => stderr, done };
}

/** Resolves once a name in folder `d` satisfies `test` (checked at once and on every change). */
export async function nameAppears(d: string, test: (name: string) => boolean): Promise<string> {
  await mkdir(d, { recursive: true });
  return new Promise<string>((res) => {
    let settled = false;
    const check = () => void readdir(d).then((names) => {
      const hit = names.find(test);
      if (hit !== undefined && !settled) {
        settled = true;
        watcher.close();
        res(hit);
      }
    });
    const watcher = watch(d, check);
    check();
  });
}
