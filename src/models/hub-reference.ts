import { InvalidRequestError } from "../protocol/errors.js";

/** A model on a Hugging Face compatible hub, as a user names it. */
export interface HubReference {
  /** `owner/name`. */
  repository: string;
  /** A branch, tag or commit. Default `main`. */
  revision: string;
  /** A quantization tag such as `Q4_K_M` that picks the file, when given. */
  quantization?: string;
  /** A file path inside the repository, when given. */
  file?: string;
}

const segment = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const hubPrefixes = [
  /^hf:\/\//i,
  /^hf:/i,
  /^https?:\/\/(www\.)?(huggingface\.co|hf\.co)\//i,
  /^(huggingface\.co|hf\.co)\//i,
];

/**
 * Reads `owner/repo`, `owner/repo:QUANT`, `owner/repo/path/FILE.gguf`, each optionally with
 * `@revision` after the repository and a `hf.co/` or `hf://` prefix. Ollama's `:latest` means no tag.
 * @example parseHubReference("bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
 */
export function parseHubReference(text: string): HubReference {
  let rest = text.trim();
  for (const prefix of hubPrefixes) rest = rest.replace(prefix, "");
  const invalid = (why: string) =>
    new InvalidRequestError(
      `'${text}' is not a model reference (${why}); write owner/repo, owner/repo:QUANT or owner/repo/FILE.gguf`,
      "ref",
    );
  const [owner, second, ...path] = rest.split("/");
  if (!owner || !second) throw invalid("it needs an owner and a repository");
  let name = second;
  let quantization: string | undefined;
  if (path.length === 0) {
    const colon = name.indexOf(":");
    if (colon >= 0) {
      quantization = name.slice(colon + 1);
      name = name.slice(0, colon);
      if (!/^[A-Za-z0-9_.-]+$/.test(quantization))
        throw invalid(`'${quantization}' is not a quantization tag`);
      if (quantization.toLowerCase() === "latest") quantization = undefined;
    }
  }
  let revision = "main";
  const at = name.indexOf("@");
  if (at >= 0) {
    revision = name.slice(at + 1);
    name = name.slice(0, at);
    if (!/^[A-Za-z0-9._/-]+$/.test(revision) || revision === "")
      throw invalid("the revision is empty or odd");
  }
  if (!segment.test(owner) || !segment.test(name))
    throw invalid("owner and repository use letters, digits, '.', '_' and '-'");
  const file = path.length > 0 ? path.join("/") : undefined;
  if (
    file !== undefined &&
    (!/\.gguf$/i.test(file) || file.split("/").some((part) => part === ".." || part === ""))
  )
    throw invalid("a file in the repository must be a .gguf path");
  return { repository: `${owner}/${name}`, revision, quantization, file };
}

/** The reference written back, e.g. `owner/repo:Q4_K_M`. */
export function formatHubReference(reference: HubReference): string {
  const revision = reference.revision === "main" ? "" : `@${reference.revision}`;
  if (reference.file) return `${reference.repository}${revision}/${reference.file}`;
  return `${reference.repository}${revision}${reference.quantization ? `:${reference.quantization}` : ""}`;
}
