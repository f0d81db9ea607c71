import { join } from "node:path";
import { writeGgufFile } from "../../src/models/gguf-writer.js";
import { type SynthModelShape, synthModelContent } from "../../src/models/synth-model.js";

/**
 * Writes a synthetic model as a split GGUF, the way `llama-gguf-split` does: the first part has all
 * the metadata, every part has `split.no`, `split.count` and `split.tensors.count`, and the tensors
 * are shared out in order. Returns the parts' paths, first first.
 */
export async function writeSplitSynthModel(
  directory: string,
  baseName: string,
  shape: SynthModelShape,
  partCount: number,
): Promise<string[]> {
  const { content } = await synthModelContent(shape);
  const perPart = Math.ceil(content.tensors.length / partCount);
  const paths: string[] = [];
  for (let index = 0; index < partCount; index++) {
    const split = {
      "split.no": { type: "uint16", value: index },
      "split.count": { type: "uint16", value: partCount },
      "split.tensors.count": { type: "int32", value: content.tensors.length },
    } as const;
    const path = join(
      directory,
      `${baseName}-${String(index + 1).padStart(5, "0")}-of-${String(partCount).padStart(5, "0")}.gguf`,
    );
    await writeGgufFile(path, {
      metadata: index === 0 ? { ...content.metadata, ...split } : split,
      tensors: content.tensors.slice(index * perPart, (index + 1) * perPart),
      alignment: content.alignment,
    });
    paths.push(path);
  }
  return paths;
}
