import { describe, expect, it } from "vitest";
import type { ModelProfile } from "../protocol/model-profile.js";
import { draftIncompatibility, suggestDraft } from "./draft-compatibility.js";

const vocabulary = { type: "llama", size: 32000, bosTokenId: 1, eosTokenId: 2, digest: "abc" };
const model = (name: string, sizeBytes: number, changes: Partial<typeof vocabulary> = {}) =>
  ({ name, sizeBytes, vocabulary: { ...vocabulary, ...changes } }) as unknown as ModelProfile;

const target = model("big", 8e9);

describe("draftIncompatibility", () => {
  it.each([
    { name: "a smaller model of the same vocabulary", draft: model("small", 1e9), problem: undefined },
    { name: "other tokens", draft: model("small", 1e9, { digest: "xyz" }), problem: /vocabularies differ/ },
    { name: "another end token", draft: model("small", 1e9, { eosTokenId: 3 }), problem: /start and end/ },
    { name: "a model as large", draft: model("twin", 8e9), problem: /not smaller/ },
    { name: "the model itself", draft: target, problem: /itself/ },
  ])("$name", ({ draft, problem }) => {
    const found = draftIncompatibility(target, draft);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe("suggestDraft", () => {
  it("picks the largest compatible model at most a quarter of the target's size", () => {
    const models = [
      model("tiny", 0.5e9),
      model("small", 1.5e9),
      model("medium", 3e9),
      model("other", 1e9, { digest: "x" }),
    ];
    expect(suggestDraft(target, models)?.name).toBe("small");
  });

  it("suggests nothing when no model fits", () => {
    expect(suggestDraft(target, [model("medium", 3e9), target])).toBeUndefined();
  });
});
