// Which WebGPU adapter ONNX Runtime's WebGPU provider would get. ORT does not say, so we ask Dawn
// (the `webgpu` package) the same question ORT's Dawn asks: a high-performance adapter from the same
// Vulkan / D3D12 / Metal drivers.
import { existsSync } from 'node:fs';
import { adapterLabel, softwareAdapterName, vulkanLoaderMissing } from '../../common/gpu-adapter-kind.ts';

export type WebGpuProbe =
  | { found: true; label: string; /** Set for a software adapter, e.g. 'lavapipe'. */ software?: string }
  | { found: false; why: string };

async function probe(): Promise<WebGpuProbe> {
  if (vulkanLoaderMissing(process.platform, process.env.LD_LIBRARY_PATH, existsSync)) return { found: false, why: 'no Vulkan loader (libvulkan.so.1)' };
  let adapter: GPUAdapter | null;
  try {
    const dawn = await import('webgpu');
    adapter = await dawn.create([]).requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { found: false, why: `cannot check the GPU adapter (webgpu package: ${(e as Error).message.split('\n')[0]})` };
  }
  if (!adapter) return { found: false, why: 'no GPU adapter' };
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const facts = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, isFallbackAdapter: info.isFallbackAdapter };
  return { found: true, label: adapterLabel(facts), software: softwareAdapterName(facts) };
}

let cached: Promise<WebGpuProbe> | undefined;

/** The adapter, looked up once per process (drivers do not change under a running app). */
export function probeWebGpuAdapter(): Promise<WebGpuProbe> {
  cached ??= probe();
  return cached;
}
