import { InvalidRequestError, PreviousResponseNotFoundError } from "../../../protocol/errors.js";
import type { ResponseStore } from "./response-store.js";
import { type ConversationItem, isItemReference, type ResponsesRequest } from "./schemas.js";

/**
 * The whole conversation a request continues, as items: the conversation of the response that
 * `previous_response_id` names, then the request's input with each `item_reference` replaced by
 * the item it names. Instructions are the request's own: a previous response's are not carried
 * over, as in OpenAI's API.
 */
export function conversationOf(request: ResponsesRequest, store: ResponseStore): ConversationItem[] {
  const previous = request.previous_response_id ? store.get(request.previous_response_id) : undefined;
  if (request.previous_response_id && !previous) {
    throw new PreviousResponseNotFoundError(request.previous_response_id);
  }
  const input = request.input.map((item) => {
    if (!isItemReference(item)) return item;
    const found = store.findItem(item.id);
    if (!found) {
      throw new InvalidRequestError(
        `Item with id '${item.id}' not found. herd keeps the items of stored responses for an hour; send the item itself instead`,
        "input",
      );
    }
    return found;
  });
  return [...(previous?.conversation ?? []), ...input];
}
