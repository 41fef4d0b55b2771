// Tells a software WebGPU adapter (a CPU rasteriser behind a GPU API) from a real GPU. Mesa's
// lavapipe is installed on many Linux desktops and VMs; picked by default it trains ~30× slower than
// wasm, so both the trainer and the engine use one only when forced.

/** What a WebGPU adapter says about itself: GPUAdapterInfo, plus Dawn's adapter type where exposed. */
export interface GpuAdapterFacts {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** GPUAdapter.isFallbackAdapter (older spec) or GPUAdapterInfo.isFallbackAdapter (newer). */
  isFallbackAdapter?: boolean;
  /** Dawn's 'discrete GPU' | 'integrated GPU' | 'CPU' | 'unknown', where a build exposes it. */
  adapterType?: string;
}

const softwareNames: [RegExp, string][] = [
  // lavapipe (Vulkan) reports its device as llvmpipe, Mesa's Gallium CPU driver.
  [/lavapipe|llvmpipe/i, 'lavapipe'],
  [/swiftshader/i, 'SwiftShader'],
  // Direct3D's software rasteriser.
  [/microsoft basic render driver|\bwarp\b/i, 'WARP'],
];

/** A short name for a software adapter ('lavapipe', 'SwiftShader', 'WARP', 'CPU adapter'), or undefined for a GPU. */
export function softwareAdapterName(info: GpuAdapterFacts): string | undefined {
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  for (const [pattern, name] of softwareNames) if (pattern.test(text)) return name;
  const cpuType = /^cpu$/i.test(info.adapterType ?? '') || /^software$/i.test(info.architecture ?? '') || /\bcpu\b/i.test(text);
  return info.isFallbackAdapter || cpuType ? 'CPU adapter' : undefined;
}

/** One readable name for an adapter, e.g. 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)' or 'nvidia hopper'. */
export function adapterLabel(info: GpuAdapterFacts): string {
  return info.description?.trim() || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unnamed adapter';
}

/**
 * Dawn needs a Vulkan loader on Linux; without one it prints a stack trace and finds no adapter, so
 * callers check first. Pure: the caller passes its platform, LD_LIBRARY_PATH and a file-exists test.
 */
export function vulkanLoaderMissing(platform: string, ldLibraryPath: string | undefined, exists: (path: string) => boolean): boolean {
  if (platform !== 'linux') return false;
  const dirs = [...(ldLibraryPath ?? '').split(':').filter(Boolean), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];
  return !dirs.some((d) => exists(`${d.replace(/\/$/, '')}/libvulkan.so.1`));
}
