import { test } from 'node:test';
import '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { create } from 'webgpu';
import { adapterLabel, softwareAdapterName, vulkanLoaderMissing } from '../common/gpu-adapter-kind.ts';
import { backendOrder, selectBackend } from '../trainer/backends/select-backend.ts';

/** The adapter Dawn gives here, if any, and whether it is a software one (lavapipe under CI). */
async function webGpuAdapterHere(): Promise<{ label: string; software?: string } | undefined> {
  if (vulkanLoaderMissing(process.platform, process.env.LD_LIBRARY_PATH, existsSync)) return undefined;
  const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return { label: adapterLabel(info), software: softwareAdapterName(info) };
}

test('picks the fastest backend that starts and says why each faster one was skipped', async () => {
  const sel = await selectBackend();
  assert.equal(tf.getBackend(), sel.backend === 'tensorflow-gpu' ? 'tensorflow' : sel.backend);
  const faster = backendOrder.slice(0, backendOrder.indexOf(sel.backend));
  assert.deepEqual(sel.skipped.map((s) => s.backend), faster);
  for (const s of sel.skipped) {
    assert.match(s.why, /^(not installed|no GPU adapter|software adapter \(\w[\w ]*\), used only when webgpu is forced|failed to load: .+)/);
    assert.ok(sel.line.includes(`${s.backend}: ${s.why}`), sel.line);
  }
  assert.match(sel.line, new RegExp(`^backend: ${sel.backend}`));
  // A backend that can train: a gradient step runs on it.
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2, 3]));
  assert.deepEqual([...(await g.data())], [2, 4, 6]);
});

test('a software WebGPU adapter is skipped by default, and used when webgpu is forced', async (t) => {
  const adapter = await webGpuAdapterHere();
  if (!adapter) return t.skip('no WebGPU adapter (install mesa-vulkan-drivers ≥ 24 for lavapipe)');
  if (!adapter.software) return t.skip(`the adapter is a GPU (${adapter.label}), not a software one`);
  const auto = await selectBackend();
  assert.notEqual(auto.backend, 'webgpu', auto.line);
  assert.deepEqual(auto.skipped.find((s) => s.backend === 'webgpu'),
    { backend: 'webgpu', why: `software adapter (${adapter.software}), used only when webgpu is forced (--backend webgpu)` });
  // Excluded by the caller: said as such, and the software check is never reached.
  const without = await selectBackend(undefined, { exclude: { webgpu: 'not for this model' } });
  assert.ok(without.line.includes('webgpu: not for this model'), without.line);

  const forced = await selectBackend('webgpu');
  assert.equal(tf.getBackend(), 'webgpu');
  assert.equal(forced.adapter?.software, adapter.software);
  assert.equal(forced.line, `backend: webgpu (forced) on a software adapter, ${adapter.software} (${adapter.label}): expect CPU speed`);
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2, 3]));
  assert.deepEqual([...(await g.data())], [2, 4, 6]);
  // Forced, but told not to use a software adapter (bench:train's default rows): fails loudly.
  await assert.rejects(selectBackend('webgpu', { allowSoftwareAdapter: false }), /no TF\.js backend could start: webgpu: software adapter/);
});

test('a forced backend runs, or fails loudly instead of falling back', async () => {
  const cpu = await selectBackend('cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(cpu.line, 'backend: cpu (forced)');
  const gpu = selectBackend('tensorflow-gpu');
  // Where tfjs-node-gpu is installed this runs; elsewhere it must throw, not quietly pick another.
  await gpu.then(() => assert.equal(tf.getBackend(), 'tensorflow'), (err: Error) => assert.match(err.message, /no TF\.js backend could start: tensorflow-gpu: /));
});

test('software adapters are told from GPUs by what they say about themselves', () => {
  const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', isFallbackAdapter: true };
  assert.equal(softwareAdapterName(lavapipe), 'lavapipe');
  assert.equal(softwareAdapterName({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' }), 'SwiftShader');
  assert.equal(softwareAdapterName({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }), 'WARP');
  assert.equal(softwareAdapterName({ vendor: 'unknown', description: 'some driver', isFallbackAdapter: true }), 'CPU adapter');
  assert.equal(softwareAdapterName({ vendor: 'unknown', description: 'some driver', adapterType: 'CPU' }), 'CPU adapter');
  for (const gpu of [
    { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' },
    { vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)', isFallbackAdapter: false },
    { vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) UHD Graphics 770', adapterType: 'integrated GPU' },
    { vendor: 'apple', architecture: 'common-3', description: 'Apple M2' },
  ]) assert.equal(softwareAdapterName(gpu), undefined, gpu.description);
  assert.equal(adapterLabel({ vendor: 'nvidia', architecture: 'hopper', description: '' }), 'nvidia hopper');
});
