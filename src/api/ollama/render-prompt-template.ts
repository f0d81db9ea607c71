import { InvalidRequestError } from "../../protocol/errors.js";

/** The values an Ollama generate template sees (Go's `template.Values`, the parts herd fills). */
export interface PromptValues {
  System: string;
  Prompt: string;
  Response: string;
  Suffix: string;
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "field"; name: keyof PromptValues }
  | { kind: "if"; name: keyof PromptValues; whenSet: Node[]; otherwise: Node[] };

const fieldNames = new Set<string>(["System", "Prompt", "Response", "Suffix"]);

/**
 * An action `{{ ... }}` with Go's trim markers: `{{- ` drops the whitespace before it, ` -}}` the
 * whitespace after.
 */
const action = /\{\{(-\s)?\s*([\s\S]*?)\s*(\s-)?\}\}/g;

/**
 * Renders the request's `template` the way Ollama's Go templates do, for the part of the language
 * such templates use: `{{ .System }}`, `{{ .Prompt }}`, `{{ .Response }}`, `{{ .Suffix }}`,
 * `{{ if .X }}…{{ else }}…{{ end }}` on them, comments and trim markers. Anything else (`range`,
 * `.Messages`, functions) is refused by name rather than rendered wrongly.
 * @example renderPromptTemplate("{{ if .System }}{{ .System }}\n{{ end }}Q: {{ .Prompt }}\nA:", { System: "", Prompt: "2+2?", Response: "", Suffix: "" }) // "Q: 2+2?\nA:"
 */
export function renderPromptTemplate(template: string, values: PromptValues): string {
  return render(parse(template), values);
}

function parse(template: string): Node[] {
  const root: Node[] = [];
  /** Open `if`s, innermost last, each with the list its next nodes go to. */
  const open: Array<{ node: Extract<Node, { kind: "if" }>; into: Node[] }> = [];
  let into = root;
  let position = 0;
  let trimNext = false;
  for (const match of template.matchAll(action)) {
    let text = template.slice(position, match.index);
    if (trimNext) text = text.trimStart();
    if (match[1]) text = text.trimEnd();
    if (text) into.push({ kind: "text", text });
    position = match.index + match[0].length;
    trimNext = match[3] !== undefined;
    const words = match[2]!.split(/\s+/);
    const field = (word: string | undefined) => {
      const name = word?.startsWith(".") ? word.slice(1) : undefined;
      if (name === undefined || !fieldNames.has(name)) unsupported(match[0]);
      return name as keyof PromptValues;
    };
    if (match[2]!.startsWith("/*")) continue;
    if (words[0] === "if" && words.length === 2) {
      const node: Node = { kind: "if", name: field(words[1]), whenSet: [], otherwise: [] };
      into.push(node);
      open.push({ node, into: node.whenSet });
      into = node.whenSet;
    } else if (words[0] === "else" && words.length === 1 && open.length > 0) {
      const innermost = open.at(-1)!;
      innermost.into = innermost.node.otherwise;
      into = innermost.into;
    } else if (words[0] === "end" && words.length === 1 && open.length > 0) {
      open.pop();
      into = open.at(-1)?.into ?? root;
    } else if (words.length === 1) {
      into.push({ kind: "field", name: field(words[0]) });
    } else unsupported(match[0]);
  }
  if (open.length > 0) {
    throw new InvalidRequestError("template: an {{ if }} has no {{ end }}", "template");
  }
  let rest = template.slice(position);
  if (trimNext) rest = rest.trimStart();
  if (rest) into.push({ kind: "text", text: rest });
  return root;
}

function render(nodes: Node[], values: PromptValues): string {
  let text = "";
  for (const node of nodes) {
    if (node.kind === "text") text += node.text;
    else if (node.kind === "field") text += values[node.name];
    else text += render(values[node.name] ? node.whenSet : node.otherwise, values);
  }
  return text;
}

function unsupported(found: string): never {
  throw new InvalidRequestError(
    `template: herd renders {{ .System }}, {{ .Prompt }}, {{ .Response }}, {{ .Suffix }} and {{ if }}/{{ else }}/{{ end }} on them; it cannot render ${found}`,
    "template",
  );
}
