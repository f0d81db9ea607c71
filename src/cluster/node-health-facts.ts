import { statfsSync } from "node:fs";
import type { NodeHealthFacts } from "../protocol/health.js";

export interface HealthFactInputs {
  /** The model store's folder: the disk that fills up when models are pulled. */
  modelsDirectory: string;
  apiExposed: boolean;
  authDisabled: boolean;
  corruptModels: string[];
}

/** This node's part of `herd health`, sent in its heartbeats; cheap enough to read every second. */
export function nodeHealthFacts(inputs: HealthFactInputs): NodeHealthFacts {
  return {
    modelsDisk: diskSpace(inputs.modelsDirectory),
    apiExposed: inputs.apiExposed,
    authDisabled: inputs.authDisabled,
    corruptModels: inputs.corruptModels,
  };
}

function diskSpace(directory: string): NodeHealthFacts["modelsDisk"] {
  try {
    const stats = statfsSync(directory);
    // `bavail`: blocks an unprivileged process may still use, which is what a download can fill.
    return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
  } catch {
    // A store folder that cannot be read is reported as unknown rather than as full or empty.
    return null;
  }
}
