import { readGgufFileInfo } from "node-llama-cpp";

/**
 * The chat template (`tokenizer.chat_template`, Jinja) a GGUF file carries, read from its header
 * (never its weights); undefined when it has none or cannot be read.
 */
export async function readChatTemplate(path: string): Promise<string | undefined> {
  try {
    const info = await readGgufFileInfo(path, { logWarnings: false, readTensorInfo: false });
    const template = (info.metadata.tokenizer as { chat_template?: unknown } | undefined)?.chat_template;
    return typeof template === "string" ? template : undefined;
  } catch {
    // The file was checked at import; one that cannot be read now (removed, on another node) has
    // no template to show, and showing the rest of the model matters more.
    return undefined;
  }
}
