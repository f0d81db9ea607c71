import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { inject } from "vitest";
import { engineVocabPath } from "../../src/engine/engine-source.js";
import { writeSynthModel } from "../../src/models/synth-model.js";
import { toolCallModelShape } from "../../src/models/tool-call-model.js";
import type { HerdProcess } from "./herd-process.js";

/**
 * Coding agents send a system prompt and tool definitions of 10-15K tokens: stories260K's 2,048 cannot
 * hold them, and llama-server caps a slot at the model's training context. These synthetic models
 * have llama.cpp's llama-bpe vocabulary, a chat template with tools, and a long context.
 */
export const agentContext = 32_768;

/** The words the chatty model says, in llama-bpe's spelling (Ġ is a leading space). */
const chattyWords = ["Ġhello", "Ġfrom", "Ġthe", "Ġherd", "Ġof", "Ġmachines", "Ġand", "Ġfriends"];

/** All that the chatty model ever says: some of its words, separated by spaces. */
export const chattyAnswer = new RegExp(`^((${chattyWords.map((word) => word.slice(1)).join("|")})\\s*)+$`);

/** A token's id in a vocabulary, by its spelling there. */
async function tokenIds(vocabPath: string): Promise<(token: string) => number> {
  const info = await readGgufFileInfo(vocabPath, { readTensorInfo: false, logWarnings: false });
  const tokens = (info.metadata as unknown as { tokenizer: { ggml: { tokens: string[] } } }).tokenizer.ggml
    .tokens;
  return (token) => {
    const id = tokens.indexOf(token);
    if (id < 0) throw new Error(`${vocabPath} has no token ${token}`);
    return id;
  };
}

/**
 * A model that answers with a few of `chattyWords` and then stops, whatever it is asked and whether
 * or not it is given tools: its logits are fixed (see `SynthModelShape.fixedLogits`), the words tie
 * and end-of-turn trails them by enough that, sampled at the engine's default temperature, a reply
 * runs a few dozen words at most. It never calls a tool: its tool-call marker has no weight.
 */
export async function chattyModelShape(vocabPath: string) {
  const idOf = await tokenIds(vocabPath);
  const logits = new Map<number, number>(chattyWords.map((word) => [idOf(word), 10]));
  logits.set(idOf("<|eot_id|>"), 9.3);
  // Never an empty reply: sampled, a first end of turn 0.7 behind the words would come 1 time in 17.
  const opening = new Map([[idOf("<|eot_id|>"), 0]]);
  return { ...(await toolCallModelShape(vocabPath)), fixedLogits: logits, openingLogits: opening };
}

/**
 * `toolCallModelShape` made fit for agents' tools, whose arguments are free strings (a path, a
 * command): there the tool-call marker, which wins everywhere, is valid text and the fixed-logit
 * model would write it forever. A closing quote just behind the marker ends each string within a
 * few tokens when sampled at the engine's default temperature, as agents sample. Where the agent
 * offers several tools, names starting with `get` win: Codex CLI's `get_goal` takes no arguments and
 * answers at once, where a tool picked at random could run a shell command or wait for the user.
 */
export async function agentToolsModelShape(vocabPath: string) {
  const shape = await toolCallModelShape(vocabPath);
  const idOf = await tokenIds(vocabPath);
  const [[, markerLogit]] = [...shape.fixedLogits!].filter(([, logit]) => logit > 0) as [[number, number]];
  const logits = new Map(shape.fixedLogits);
  logits.set(idOf('"'), markerLogit - 1.5);
  logits.set(idOf("get"), 10);
  return { ...shape, fixedLogits: logits };
}

/**
 * Writes, imports and loads `agent-chat` (a chatty model) and `agent-tools` (a model that always
 * calls a tool when given tools) on `node`, each with a 32K context.
 */
export async function loadAgentModels(node: HerdProcess): Promise<void> {
  const vocabPath = await engineVocabPath(inject("engineCache"), "llama-bpe");
  const shapes = {
    "agent-chat": await chattyModelShape(vocabPath),
    "agent-tools": await agentToolsModelShape(vocabPath),
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const path = join(node.home, `${name}.gguf`);
    await writeSynthModel({ ...shape, contextLength: agentContext, outputPath: path });
    await node.cliEach([
      ["models", "import", path, "--name", name],
      ["load", name, "--parallel", "1", "--ctx", String(agentContext)],
    ]);
  }
}
