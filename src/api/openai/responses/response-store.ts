import type { ResponseObject } from "./response-object.js";
import type { ConversationItem } from "./schemas.js";

/** A finished response and the conversation it ends, for `previous_response_id` to continue. */
export interface StoredResponse {
  response: ResponseObject;
  /** Every item of the conversation: earlier turns, this request's input, this response's output. */
  conversation: ConversationItem[];
}

export interface ResponseStoreOptions {
  /** How many responses are kept; the least recently used goes first. Default 256. */
  maxEntries?: number;
  /** How long a response is kept after it finished. Default one hour. */
  maxAgeMs?: number;
  /** The most conversation text kept, in characters of JSON, across all responses. Default 64 Mi. */
  maxCharacters?: number;
  /** Milliseconds now; tests pass their own clock. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  stored: StoredResponse;
  storedAt: number;
  characters: number;
}

/**
 * The node's memory of finished responses, bounded in count, age and size. Responses live only
 * in this node's memory: a restart forgets them, and a client continuing a conversation talks to
 * the node that answered it.
 */
export class ResponseStore {
  private readonly entries = new Map<string, Entry>();
  private characters = 0;
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly maxCharacters: number;
  private readonly now: () => number;

  constructor(options: ResponseStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 256;
    this.maxAgeMs = options.maxAgeMs ?? 60 * 60 * 1000;
    this.maxCharacters = options.maxCharacters ?? 64 * 1024 * 1024;
    this.now = options.now ?? Date.now;
  }

  put(stored: StoredResponse): void {
    this.remove(stored.response.id);
    const characters = JSON.stringify(stored.conversation).length;
    // A conversation larger than the whole budget cannot be kept without forgetting everything else.
    if (characters > this.maxCharacters) return;
    this.entries.set(stored.response.id, { stored, storedAt: this.now(), characters });
    this.characters += characters;
    this.forgetExpired();
    for (const [id] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.characters <= this.maxCharacters) break;
      this.remove(id);
    }
  }

  /** The stored response, made the most recently used; undefined when unknown or expired. */
  get(id: string): StoredResponse | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (this.expired(entry)) {
      this.remove(id);
      return undefined;
    }
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.stored;
  }

  /** An item of a stored conversation, by its id (what an `item_reference` names). */
  findItem(id: string): ConversationItem | undefined {
    for (const entry of this.entries.values()) {
      if (this.expired(entry)) continue;
      const found = entry.stored.conversation.find((item) => "id" in item && item.id === id);
      if (found) return found;
    }
    return undefined;
  }

  delete(id: string): boolean {
    const known = this.get(id) !== undefined;
    this.remove(id);
    return known;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets every response; safe to call twice. */
  dispose(): void {
    this.entries.clear();
    this.characters = 0;
  }

  private expired(entry: Entry): boolean {
    return this.now() - entry.storedAt > this.maxAgeMs;
  }

  private forgetExpired(): void {
    for (const [id, entry] of this.entries) if (this.expired(entry)) this.remove(id);
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.characters -= entry.characters;
  }
}
