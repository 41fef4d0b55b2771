import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

export const backendOrder = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof backendOrder)[number];

export interface BackendSelection {
  /** Our name for it (TF.js calls both tfjs-node flavours 'tensorflow'). */
  backend: BackendChoice;
  skipped: { backend: BackendChoice; why: string }[];
  /** One line for the user: which backend runs and why each faster one was skipped. */
  line: string;
}

const require = createRequire(import.meta.url);

function why(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  return `failed to load: ${String(e?.message ?? err).split('\n')[0]}`;
}

/** Dawn needs a Vulkan loader on Linux; without one it prints a stack trace and finds no adapter. */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];
  return !dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/** Dawn from the npm package, or from ENHANCE_DAWN_NODE on a machine that only has a bundle (gpu-carry). */
async function loadDawn(): Promise<typeof import('webgpu')> {
  const path = process.env.ENHANCE_DAWN_NODE;
  return path ? require(path) : import('webgpu');
}

async function tryBackend(b: BackendChoice): Promise<void> {
  switch (b) {
    case 'tensorflow-gpu':
      await import('@tensorflow/tfjs-node-gpu' as string);
      break;
    case 'tensorflow':
      await import('@tensorflow/tfjs-node' as string);
      break;
    case 'webgpu': {
      if (vulkanLoaderMissing()) throw Object.assign(new Error('no Vulkan loader (libvulkan.so.1)'), { code: 'NO_ADAPTER' });
      const { create, globals } = await loadDawn();
      const gpu = create([]);
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw Object.assign(new Error('no adapter'), { code: 'NO_ADAPTER' });
      Object.assign(globalThis, globals);
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
      await import('@tensorflow/tfjs-backend-webgpu');
      break;
    }
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
  }
  const tfName = b === 'tensorflow-gpu' ? 'tensorflow' : b;
  if (!(await tf.setBackend(tfName))) throw new Error(`tf.setBackend('${tfName}') failed`);
  await tf.ready();
  if (b === 'wasm' || b === 'webgpu') {
    const { registerConvGradKernels } = await import('./conv-grad-kernels.ts');
    registerConvGradKernels(b);
  }
}

/**
 * Picks the fastest backend that works, in `backendOrder`, or the forced one. Throws when a forced
 * backend cannot start, rather than silently training on something 300× slower.
 */
export async function selectBackend(force?: BackendChoice): Promise<BackendSelection> {
  const skipped: BackendSelection['skipped'] = [];
  for (const b of force ? [force] : backendOrder) {
    try {
      await tryBackend(b);
      const reasons = skipped.map((s) => `${s.backend}: ${s.why}`).join('; ');
      return { backend: b, skipped, line: `backend: ${b}${force ? ' (forced)' : ''}${reasons ? ` (skipped ${reasons})` : ''}` };
    } catch (err) {
      const e = err as { code?: string };
      skipped.push({ backend: b, why: e?.code === 'NO_ADAPTER' ? `no GPU adapter${(err as Error).message === 'no adapter' ? '' : `: ${(err as Error).message}`}` : why(err) });
    }
  }
  throw new Error(`no TF.js backend could start: ${skipped.map((s) => `${s.backend}: ${s.why}`).join('; ')}`);
}
