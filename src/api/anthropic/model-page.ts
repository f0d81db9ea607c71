import { z } from "zod";

/** A model as Anthropic's Models API lists it. */
export interface AnthropicModel {
  type: "model";
  id: string;
  display_name: string;
  /** RFC 3339. */
  created_at: string;
}

/** The model `id`, imported at `createdAt` (milliseconds since the epoch), as Anthropic lists it. */
export function toAnthropicModel(id: string, createdAt: number): AnthropicModel {
  return { type: "model", id, display_name: id, created_at: new Date(createdAt).toISOString() };
}

/** `GET /v1/models`'s paging: `limit` (1-1000, default 20), and a cursor either way. */
export const ModelPageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(20),
  after_id: z.string().min(1).optional(),
  before_id: z.string().min(1).optional(),
});
export type ModelPageQuery = z.infer<typeof ModelPageQuery>;

/**
 * One page of Anthropic's model list: up to `limit` models after `after_id` or, with `before_id`
 * alone, the ones just before it; `has_more` says whether more lie beyond the page in that direction.
 * A cursor that names no model gives an empty page.
 */
export function anthropicModelPage(models: readonly AnthropicModel[], query: ModelPageQuery) {
  const position = (id: string | undefined) =>
    id === undefined ? undefined : models.findIndex((model) => model.id === id);
  const after = position(query.after_id);
  const before = position(query.before_id);
  const start = after === undefined ? 0 : after === -1 ? models.length : after + 1;
  const end = before === undefined ? models.length : before === -1 ? 0 : before;
  const backwards = query.before_id !== undefined && query.after_id === undefined;
  const from = backwards ? Math.max(start, end - query.limit) : start;
  const to = backwards ? end : Math.min(end, start + query.limit);
  const data = models.slice(from, Math.max(from, to));
  return {
    data,
    has_more: backwards ? from > start : to < end,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  };
}
