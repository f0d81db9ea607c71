import { describe, expect, it } from "vitest";
import { type PromptValues, renderPromptTemplate } from "./render-prompt-template.js";

const values: PromptValues = { System: "Be brief.", Prompt: "2+2?", Response: "", Suffix: "" };

describe("renderPromptTemplate", () => {
  it.each([
    ["the prompt alone (Ollama's default template)", "{{ .Prompt }}", values, "2+2?"],
    ["fields among text", "<s>{{.System}}</s>{{ .Prompt }}", values, "<s>Be brief.</s>2+2?"],
    [
      "an if on a set field",
      "{{ if .System }}SYS {{ .System }}\n{{ end }}USER {{ .Prompt }}",
      values,
      "SYS Be brief.\nUSER 2+2?",
    ],
    [
      "an if on an empty field, with its else",
      "{{ if .Suffix }}<PRE>{{ .Prompt }}<SUF>{{ .Suffix }}<MID>{{ else }}{{ .Prompt }}{{ end }}",
      values,
      "2+2?",
    ],
    ["nested ifs", "{{ if .System }}[{{ if .Suffix }}s{{ else }}n{{ end }}]{{ end }}", values, "[n]"],
    [
      "trim markers, which drop the whitespace on their side",
      "A  \n {{- .Prompt -}} \n  B {{- /* a comment */ -}}  C",
      values,
      "A2+2?BC",
    ],
    ["an empty response field", "{{ .Prompt }}{{ .Response }}", values, "2+2?"],
  ])("renders %s", (_name, template, given, expected) => {
    expect(renderPromptTemplate(template, given)).toBe(expected);
  });

  it.each([
    ["a range", "{{ range .Messages }}{{ .Content }}{{ end }}", /cannot render \{\{ range \.Messages \}\}/],
    ["an unknown field", "{{ .Tools }}", /cannot render \{\{ \.Tools \}\}/],
    ["a function call", '{{ if eq .System "" }}x{{ end }}', /cannot render/],
    ["an if without end", "{{ if .System }}x", /has no \{\{ end \}\}/],
    ["an end without if", "x{{ end }}", /cannot render \{\{ end \}\}/],
  ])("refuses %s, naming it", (_name, template, message) => {
    expect(() => renderPromptTemplate(template, values)).toThrow(message);
  });
});
