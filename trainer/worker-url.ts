/**
 * The entry of a worker module that sits beside the caller. Under tsx (sources, tests) workers do
 * not inherit the TypeScript loader, so a tiny data: module registers it first; in a build every
 * entry is a sibling `.js` file (see electron/build.ts), so the worker is just `./name.js`.
 */
export function workerUrl(callerMetaUrl: string, baseName: string): URL {
  if (!callerMetaUrl.endsWith('.ts')) return new URL(`./${baseName}.js`, callerMetaUrl);
  return new URL(`data:text/javascript,${encodeURIComponent(
    `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register();` +
    `await import(${JSON.stringify(new URL(`./${baseName}.ts`, callerMetaUrl).href)});`)}`);
}
