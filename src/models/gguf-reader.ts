/**
 * node-llama-cpp, whose GGUF reader herd uses, loaded on first use rather than when a module that
 * reads GGUF files is imported: importing the package takes about 0.6 s (it loads its whole
 * bindings layer), which every node paid at start before it could serve, models or none.
 */
let reader: Promise<typeof import("node-llama-cpp")> | undefined;

export function ggufReader(): Promise<typeof import("node-llama-cpp")> {
  reader ??= import("node-llama-cpp");
  return reader;
}
