import fc from "fast-check";

/**
 * Every public route, for the fuzz tests: a valid body (or none) that random mutations start from.
 * A route added to the app belongs here too; `{name}` in a path is filled with random text.
 */
export interface FuzzedEndpoint {
  method: "GET" | "POST" | "DELETE";
  path: string;
  validBody?: Record<string, unknown>;
}

const storiesPath = new URL("../../../shared/models/stories260K-f32.gguf", import.meta.url).pathname;
const messages = [{ role: "user", content: "Once upon a time" }];

export const fuzzedEndpoints: FuzzedEndpoint[] = [
  { method: "GET", path: "/v1/models" },
  { method: "GET", path: "/v1/models/{name}" },
  {
    method: "POST",
    path: "/v1/chat/completions",
    validBody: { model: "stories260K", messages, max_tokens: 8, temperature: 0, stream: true },
  },
  {
    method: "POST",
    path: "/v1/completions",
    validBody: { model: "stories260K", prompt: "Once", max_tokens: 8 },
  },
  { method: "POST", path: "/v1/embeddings", validBody: { model: "stories260K", input: ["Once", "Lily"] } },
  {
    method: "POST",
    path: "/v1/responses",
    validBody: {
      model: "stories260K",
      input: [{ role: "user", content: [{ type: "input_text", text: "Once" }] }],
      instructions: "be brief",
      tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
      max_output_tokens: 8,
      stream: true,
    },
  },
  { method: "GET", path: "/v1/responses/{name}" },
  { method: "DELETE", path: "/v1/responses/{name}" },
  {
    method: "POST",
    path: "/v1/messages",
    validBody: { model: "stories260K", max_tokens: 8, messages, system: "be brief", stream: false },
  },
  {
    method: "POST",
    path: "/api/chat",
    validBody: { model: "stories260K", messages, options: { num_predict: 8 } },
  },
  {
    method: "POST",
    path: "/api/generate",
    validBody: { model: "stories260K", prompt: "Once", stream: false },
  },
  { method: "GET", path: "/api/tags" },
  { method: "GET", path: "/herd/v1/node" },
  { method: "GET", path: "/herd/v1/cluster" },
  { method: "GET", path: "/herd/v1/models" },
  { method: "POST", path: "/herd/v1/models/import", validBody: { path: storiesPath, name: "fuzzed" } },
  {
    method: "POST",
    path: "/herd/v1/models/synth",
    validBody: { name: "s", layers: 2, embedding: 64, feedForward: 128, heads: 2, kvHeads: 2, type: "f16" },
  },
  { method: "DELETE", path: "/herd/v1/models/{name}" },
  { method: "GET", path: "/herd/v1/instances" },
  {
    method: "POST",
    path: "/herd/v1/instances",
    validBody: { model: "stories260K", parallel: 1, split: "auto" },
  },
  { method: "POST", path: "/herd/v1/plans", validBody: { model: "stories260K", minNodes: 1, nodes: ["a"] } },
  { method: "DELETE", path: "/herd/v1/instances/{name}" },
  { method: "GET", path: "/herd/v1/keys" },
  {
    method: "POST",
    path: "/herd/v1/keys",
    validBody: { name: "k", scope: "inference", requestsPerMinute: 10 },
  },
  { method: "DELETE", path: "/herd/v1/keys/{name}" },
];

/** Values that break careless code: extremes, wrong types, deep nesting, long text. */
const awkward = fc.oneof(
  fc.constantFrom(
    null,
    -1,
    0,
    1e308,
    -1e308,
    2 ** 53 + 1,
    Number.MIN_VALUE,
    "",
    "\u0000",
    "\ud800",
    "../../etc/passwd",
    "%00",
    "a".repeat(100_000),
    [],
    {},
    true,
  ),
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 200 }).map((depth) => JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`)),
);

/** A valid body with fields removed, replaced or added. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc
    .tuple(
      fc.array(fc.constantFrom(...keys), { maxLength: keys.length }),
      fc.dictionary(fc.constantFrom(...keys), awkward, { maxKeys: keys.length }),
      fc.dictionary(fc.string({ maxLength: 12 }), awkward, { maxKeys: 3 }),
    )
    .map(([removed, replaced, added]) => {
      const body: Record<string, unknown> = { ...valid, ...added, ...replaced };
      for (const key of removed) delete body[key];
      return body;
    });
}

/** A request body: bytes, text, any JSON, or a mutated (or cut) valid body. */
export function bodyArbitrary(endpoint: FuzzedEndpoint): fc.Arbitrary<string | Uint8Array> {
  const options: Array<fc.Arbitrary<string | Uint8Array>> = [
    fc.uint8Array({ maxLength: 512 }),
    fc.string({ unit: "binary", maxLength: 512 }),
    fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)),
  ];
  if (endpoint.validBody) {
    const valid = endpoint.validBody;
    const text = JSON.stringify(valid);
    options.push(
      mutated(valid).map((value) => JSON.stringify(value)),
      mutated(valid).map((value) => JSON.stringify(value)),
      fc.nat({ max: text.length }).map((length) => text.slice(0, length)),
    );
  }
  return fc.oneof(...options);
}

export const contentTypeArbitrary = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/vnd.api+json",
    "",
  ),
  fc.string({ maxLength: 40 }),
);

/** Text for `{name}` in a path: anything, percent-encoded (and sometimes broken encodings). */
export const pathSegmentArbitrary = fc.oneof(
  fc.string({ maxLength: 40 }).map((text) => encodeURIComponent(text)),
  fc.constantFrom("%", "%E0%A4%A", "..", "%2e%2e%2f", "a/b", "%00", "x".repeat(5000)),
);
