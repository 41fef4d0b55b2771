import type { ModelDescriptor } from '../../common/model-descriptor.ts';

/** `resources/models/manifest.json`: the models the engine and UI offer, found by descriptor, never by file name. */
export interface ModelManifest {
  models: ModelManifestEntry[];
}

export interface ModelManifestEntry {
  id: string;
  /** Relative to the manifest's folder. */
  file: string;
  descriptor: ModelDescriptor;
  /** Hex SHA-256 of the file, so a stale or truncated download is caught before loading. */
  sha256: string;
  bytes: number;
  /** False for placeholders with random weights: they run but do not enhance anything. */
  trained: boolean;
  notes: string;
}
