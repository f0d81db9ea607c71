import { NotFoundError } from "../protocol/errors.js";
import type { HubReference } from "./hub-reference.js";

/** A file of a hub repository, as its listing describes it. */
export interface HubFile {
  path: string;
  sizeBytes: number;
  /** Hex sha256 of the content (from the LFS pointer); absent for small files kept in git. */
  sha256?: string;
}

/** One loadable model in a repository: a single GGUF, or every part of a split one, in order. */
export interface HubModelFiles {
  quantization: string;
  files: HubFile[];
  sizeBytes: number;
}

const splitPart = /-(\d{5})-of-(\d{5})\.gguf$/i;
const quantizationTag =
  /(?:^|[-._])((?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*(?:_[A-Z]+)?|BF16|F16|F32|TQ\d_\d|MXFP4(?:_MOE)?))$/i;
/** Picked when the user names no quantization: the usual balance of size and quality first. */
const preferredQuantizations = [
  "Q4_K_M",
  "Q4_K_S",
  "Q5_K_M",
  "Q4_0",
  "Q8_0",
  "Q6_K",
  "Q3_K_M",
  "F16",
  "BF16",
  "F32",
];

/** `Llama-3.2-1B-Instruct-Q4_K_M.gguf` → `Q4_K_M`; `model-f16-00001-of-00002.gguf` → `F16`. */
export function quantizationOfFile(path: string): string {
  const stem = (path.split("/").pop() ?? path).replace(splitPart, "").replace(/\.gguf$/i, "");
  return quantizationTag.exec(stem)?.[1]?.toUpperCase() ?? "unknown";
}

/**
 * The GGUF models of a repository: split parts grouped with their siblings, projector files
 * (`mmproj`) left out since they are not models of their own.
 */
export function hubModels(files: HubFile[]): HubModelFiles[] {
  const groups = new Map<string, HubFile[]>();
  for (const file of files) {
    const name = file.path.split("/").pop() ?? file.path;
    if (!/\.gguf$/i.test(name) || /mmproj/i.test(name)) continue;
    const key = file.path.replace(splitPart, "");
    groups.set(key, [...(groups.get(key) ?? []), file]);
  }
  const models: HubModelFiles[] = [];
  for (const group of groups.values()) {
    const parts = [...group].sort((a, b) => a.path.localeCompare(b.path));
    const count = Number(splitPart.exec(parts[0]!.path)?.[2] ?? 1);
    // A split model missing a part cannot load; leave it out rather than fail at load time.
    if (parts.length !== count) continue;
    models.push({
      quantization: quantizationOfFile(parts[0]!.path),
      files: parts,
      sizeBytes: parts.reduce((sum, part) => sum + part.sizeBytes, 0),
    });
  }
  return models.sort((a, b) => a.sizeBytes - b.sizeBytes);
}

/** The files a reference asks for: the named file (with its split siblings), the named quantization, or the default one. */
export function chooseHubModel(files: HubFile[], reference: HubReference): HubModelFiles {
  const models = hubModels(files);
  const available = () =>
    models.length > 0
      ? `it has ${models.map((model) => model.quantization).join(", ")}`
      : "it has no GGUF files";
  if (reference.file) {
    const found = models.find((model) => model.files.some((file) => file.path === reference.file));
    if (!found)
      throw new NotFoundError(`${reference.repository} has no GGUF file '${reference.file}'; ${available()}`);
    return found;
  }
  if (reference.quantization) {
    const wanted = reference.quantization.toUpperCase();
    const found = models.find((model) => model.quantization === wanted);
    if (!found)
      throw new NotFoundError(`${reference.repository} has no ${wanted} quantization; ${available()}`);
    return found;
  }
  if (models.length === 0) throw new NotFoundError(`${reference.repository}: ${available()}`);
  for (const quantization of preferredQuantizations) {
    const found = models.find((model) => model.quantization === quantization);
    if (found) return found;
  }
  return models[0]!;
}
