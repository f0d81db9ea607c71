import { ggufReader } from "./gguf-reader.js";
import type { SynthModelShape } from "./synth-model.js";

/** Special tokens of llama.cpp's `llama-bpe` vocabulary that open and close a list of tool calls. */
const openMarker = "<|reserved_special_token_2|>";
const closeMarker = "<|reserved_special_token_3|>";

/**
 * A chat template that supports tools, written so llama.cpp's template analysis finds the format:
 * tools listed in the system turn; an assistant's call as a JSON array of one `{"name", "arguments"}`
 * between the two markers; tool results as their own turn.
 */
export const toolCallChatTemplate = [
  "{{- bos_token }}",
  "{%- if tools %}<|start_header_id|>system<|end_header_id|>\n\n",
  "{%- if messages[0].role == 'system' %}{{ messages[0].content }}\n\n{% endif %}",
  `To call tools, answer with ${openMarker}[{"name": <tool name>, "arguments": <object>}, ...]${closeMarker}. The tools:`,
  "{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}<|eot_id|>",
  "{%- elif messages[0].role == 'system' %}<|start_header_id|>system<|end_header_id|>\n\n{{ messages[0].content }}<|eot_id|>",
  "{%- endif %}",
  "{%- for message in messages %}",
  "{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}",
  "<|start_header_id|>{{ message.role }}<|end_header_id|>\n\n{{ message.content }}<|eot_id|>",
  "{%- elif message.role == 'assistant' %}<|start_header_id|>assistant<|end_header_id|>\n\n",
  "{%- if message.content %}{{ message.content }}{% endif %}",
  // Only the first call of a turn is written, so the engine sees a template without parallel calls
  // and allows one call per answer: the fixed-logit model below would otherwise call forever.
  `{%- if message.tool_calls %}{% set call = message.tool_calls[0] %}${openMarker}[`,
  '{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}',
  `]${closeMarker}{% endif %}<|eot_id|>`,
  "{%- elif message.role == 'tool' %}<|start_header_id|>tool<|end_header_id|>\n\n{{ message.content }}<|eot_id|>",
  "{%- endif %}",
  "{%- endfor %}",
  "{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
].join("");

/**
 * The shape of a tiny synthetic model that answers every chat with a tool call when it is given
 * tools: its logits are fixed so that the opening marker always wins, whitespace always loses
 * (compact JSON), and everything else ties; the engine's tool-call grammar then writes a
 * well-formed call. For testing the wire format of tool calls, not any model's judgement; decode
 * with temperature 0. `vocabPath` is llama.cpp's `models/ggml-vocab-llama-bpe.gguf`.
 */
export async function toolCallModelShape(vocabPath: string): Promise<SynthModelShape> {
  const { readGgufFileInfo } = await ggufReader();
  const info = await readGgufFileInfo(vocabPath, { readTensorInfo: false, logWarnings: false });
  const tokens = (info.metadata as unknown as { tokenizer?: { ggml?: { tokens?: string[] } } }).tokenizer
    ?.ggml?.tokens;
  const open = tokens?.indexOf(openMarker) ?? -1;
  if (!tokens || open < 0)
    throw new Error(`${vocabPath} has no token ${openMarker}; use the llama-bpe vocab`);
  const logits = new Map<number, number>([[open, 64]]);
  // Byte-level BPE writes space, newline, tab and carriage return as Ġ, Ċ, ĉ and č.
  tokens.forEach((token, id) => {
    if (/^[ĠĊĉč]+$/.test(token)) logits.set(id, -64);
  });
  return {
    vocabPath,
    layerCount: 1,
    embeddingLength: 64,
    feedForwardLength: 64,
    headCount: 2,
    weightType: "f16",
    chatTemplate: toolCallChatTemplate,
    fixedLogits: logits,
  };
}
