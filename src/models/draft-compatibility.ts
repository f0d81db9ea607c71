import type { ModelProfile } from "../protocol/model-profile.js";

/** A draft should cost a small share of the target's time per token: at most this share of its size. */
const draftShareOfTarget = 1 / 4;

/**
 * Why `draft` cannot draft tokens for `target`, or undefined when it can. llama.cpp compares the
 * vocabularies when it loads the pair (type, BOS and EOS ids, every token's text); comparing the
 * same facts here refuses an incompatible pair before any engine starts.
 */
export function draftIncompatibility(target: ModelProfile, draft: ModelProfile): string | undefined {
  if (draft.name === target.name) return `a model cannot draft for itself; choose a smaller model`;
  const a = target.vocabulary;
  const b = draft.vocabulary;
  if (!a || !b)
    return `herd does not know the vocabulary of '${!a ? target.name : draft.name}' (imported by an older herd); import it again`;
  if (a.type !== b.type || a.size !== b.size || a.digest !== b.digest)
    return `'${draft.name}' cannot draft for '${target.name}': their vocabularies differ (${b.type}, ${b.size} tokens against ${a.type}, ${a.size} tokens)`;
  if (a.bosTokenId !== b.bosTokenId || a.eosTokenId !== b.eosTokenId)
    return `'${draft.name}' cannot draft for '${target.name}': their start and end tokens differ`;
  if (draft.sizeBytes >= target.sizeBytes)
    return `'${draft.name}' is not smaller than '${target.name}': it would slow generation down`;
  return undefined;
}

/**
 * The best draft among `models` for `target`: compatible, at most a quarter of its size, and the
 * largest such (a larger draft guesses more tokens right). Undefined when none is.
 */
export function suggestDraft(
  target: ModelProfile,
  models: readonly ModelProfile[],
): ModelProfile | undefined {
  return models
    .filter(
      (model) =>
        draftIncompatibility(target, model) === undefined &&
        model.sizeBytes <= target.sizeBytes * draftShareOfTarget,
    )
    .sort((a, b) => b.sizeBytes - a.sizeBytes || a.name.localeCompare(b.name))[0];
}
