import { join } from "node:path";
import { inject } from "vitest";
import { engineVocabPath } from "../../src/engine/engine-source.js";
import { writeSynthModel } from "../../src/models/synth-model.js";
import { toolCallModelShape } from "../../src/models/tool-call-model.js";
import { HerdProcess, sharedModelPath } from "./herd-process.js";

/** The tool below: its only argument is one of two cities, so a grammar-bound model writes it whole. */
export const weatherTool = {
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string", enum: ["Paris", "Rome"] } },
    required: ["city"],
  },
};

/**
 * A node serving stories260K (chat and completions), `stories-embed` (embeddings) and `tools`, a
 * synthetic model that always answers with a tool call when it is given tools.
 */
export async function startProtocolNode(args: string[] = []): Promise<HerdProcess> {
  const node = await HerdProcess.start({ args });
  await node.cliEach([
    ["models", "import", sharedModelPath],
    ["load", "stories260K", "--parallel", "2", "--ctx", "2048"],
    ["models", "import", sharedModelPath, "--name", "stories-embed"],
    ["load", "stories-embed", "--embeddings", "--parallel", "1"],
  ]);
  const toolsPath = join(node.home, "tools.gguf");
  const shape = await toolCallModelShape(await engineVocabPath(inject("engineCache"), "llama-bpe"));
  await writeSynthModel({ ...shape, outputPath: toolsPath });
  await node.cliEach([
    ["models", "import", toolsPath, "--name", "tools"],
    ["load", "tools", "--parallel", "1", "--ctx", "1024"],
  ]);
  return node;
}
