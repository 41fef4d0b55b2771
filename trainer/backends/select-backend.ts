import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { adapterLabel, type GpuAdapterFacts, softwareAdapterName, vulkanLoaderMissing } from '../../common/gpu-adapter-kind.ts';

export const backendOrder = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof backendOrder)[number];

export interface BackendSelection {
  /** Our name for it (TF.js calls both tfjs-node flavours 'tensorflow'). */
  backend: BackendChoice;
  skipped: { backend: BackendChoice; why: string }[];
  /** webgpu only: the adapter's name, and its kind when it is a software one (used only when forced). */
  adapter?: { label: string; software?: string };
  /** One line for the user: which backend runs and why each faster one was skipped. */
  line: string;
}

const require = createRequire(import.meta.url);

function why(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  return `failed to load: ${String(e?.message ?? err).split('\n')[0]}`;
}

/** Dawn from the npm package, or from ENHANCE_DAWN_NODE on a machine that only has a bundle (gpu-carry). */
async function loadDawn(): Promise<typeof import('webgpu')> {
  const path = process.env.ENHANCE_DAWN_NODE;
  return path ? require(path) : import('webgpu');
}

/** What a Dawn adapter says about itself; older Dawn builds (a gpu-carry bundle) have requestAdapterInfo() instead of info. */
async function adapterFacts(adapter: GPUAdapter): Promise<GpuAdapterFacts> {
  const a = adapter as GPUAdapter & { isFallbackAdapter?: boolean; requestAdapterInfo?: () => Promise<GPUAdapterInfo> };
  const info = (a.info ?? (await a.requestAdapterInfo?.())) as (GPUAdapterInfo & { isFallbackAdapter?: boolean; adapterType?: string }) | undefined;
  return {
    vendor: info?.vendor, architecture: info?.architecture, device: info?.device, description: info?.description,
    isFallbackAdapter: a.isFallbackAdapter ?? info?.isFallbackAdapter, adapterType: info?.adapterType,
  };
}

/** Starts backend `b`; for webgpu, answers its adapter. A software adapter is refused unless `allowSoftware`. */
async function tryBackend(b: BackendChoice, allowSoftware: boolean): Promise<BackendSelection['adapter']> {
  let adapterInfo: BackendSelection['adapter'];
  switch (b) {
    case 'tensorflow-gpu':
      await import('@tensorflow/tfjs-node-gpu' as string);
      break;
    case 'tensorflow':
      await import('@tensorflow/tfjs-node' as string);
      break;
    case 'webgpu': {
      if (vulkanLoaderMissing(process.platform, process.env.LD_LIBRARY_PATH, existsSync)) throw Object.assign(new Error('no Vulkan loader (libvulkan.so.1)'), { code: 'NO_ADAPTER' });
      const { create, globals } = await loadDawn();
      const gpu = create([]);
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw Object.assign(new Error('no adapter'), { code: 'NO_ADAPTER' });
      const facts = await adapterFacts(adapter);
      adapterInfo = { label: adapterLabel(facts), software: softwareAdapterName(facts) };
      if (adapterInfo.software && !allowSoftware) {
        throw Object.assign(new Error(`software adapter (${adapterInfo.software}), used only when webgpu is forced (--backend webgpu)`), { code: 'SOFTWARE_ADAPTER' });
      }
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
  return adapterInfo;
}

export interface SelectOptions {
  /** Use a software WebGPU adapter (lavapipe, SwiftShader); by default only when webgpu is forced. */
  allowSoftwareAdapter?: boolean;
  /** Backends not to try, each with the reason the line gives. */
  exclude?: Partial<Record<BackendChoice, string>>;
}

/**
 * Picks the fastest backend that works, in `backendOrder`, or the forced one. Throws when a forced
 * backend cannot start, rather than silently training on something 300× slower. A software WebGPU
 * adapter is skipped unless webgpu is forced: it is a CPU behind a GPU API, ~30× slower than wasm.
 */
export async function selectBackend(force?: BackendChoice, o: SelectOptions = {}): Promise<BackendSelection> {
  const skipped: BackendSelection['skipped'] = [];
  for (const b of force ? [force] : backendOrder) {
    const excluded = o.exclude?.[b];
    if (excluded) {
      skipped.push({ backend: b, why: excluded });
      continue;
    }
    try {
      const adapter = await tryBackend(b, o.allowSoftwareAdapter ?? force === b);
      const reasons = skipped.map((s) => `${s.backend}: ${s.why}`).join('; ');
      const on = adapter ? ` on ${adapter.software ? `a software adapter, ${adapter.software} (${adapter.label}): expect CPU speed` : adapter.label}` : '';
      return { backend: b, skipped, adapter, line: `backend: ${b}${force ? ' (forced)' : ''}${on}${reasons ? ` (skipped ${reasons})` : ''}` };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      skipped.push({
        backend: b,
        why: e?.code === 'NO_ADAPTER' ? `no GPU adapter${e.message === 'no adapter' ? '' : `: ${e.message}`}` : e?.code === 'SOFTWARE_ADAPTER' ? e.message! : why(err),
      });
    }
  }
  throw new Error(`no TF.js backend could start: ${skipped.map((s) => `${s.backend}: ${s.why}`).join('; ')}`);
}
