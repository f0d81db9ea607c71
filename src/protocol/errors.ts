/**
 * herd's error classes. Each carries the data a client or a person needs; `api/error-mapping.ts`
 * is the one place that turns them into HTTP statuses and protocol error bodies.
 */
export class HerdError extends Error {
  override name = "HerdError";
}

/** The client sent something herd cannot accept. `param` names the offending field when there is one. */
export class InvalidRequestError extends HerdError {
  override name = "InvalidRequestError";
  constructor(
    message: string,
    readonly param: string | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The prompt holds more tokens than the context an instance gives one request (its slot: the
 * loaded context divided among `--parallel` slots, and never more than the model was trained for).
 * Each protocol words it its own way, with both numbers, as its clients expect.
 */
export class ContextLengthExceededError extends InvalidRequestError {
  override name = "ContextLengthExceededError";
  constructor(
    readonly promptTokens: number,
    readonly contextTokens: number,
    options?: ErrorOptions,
  ) {
    super(
      `the prompt is ${promptTokens} tokens, more than the model's context of ${contextTokens} tokens; shorten it, or load the model with a larger context ('herd load --ctx')`,
      "messages",
      options,
    );
  }
}

export class ModelNotFoundError extends HerdError {
  override name = "ModelNotFoundError";
  constructor(readonly model: string) {
    super(`model '${model}' does not exist; see 'herd models list'`);
  }
}

/**
 * `previous_response_id` names a response this node does not keep: never stored (`store: false`),
 * forgotten (kept an hour at most), or answered by another node.
 */
export class PreviousResponseNotFoundError extends InvalidRequestError {
  override name = "PreviousResponseNotFoundError";
  constructor(readonly responseId: string) {
    super(
      `Previous response with id '${responseId}' not found. herd keeps responses for an hour on the node that answered them, and none created with store: false; send the whole conversation as input instead`,
      "previous_response_id",
    );
  }
}

/** The model is in the store but no instance serves it. */
export class ModelNotLoadedError extends HerdError {
  override name = "ModelNotLoadedError";
  constructor(readonly model: string) {
    super(`model '${model}' is not loaded; run 'herd load ${model}'`);
  }
}

/** An instance exists but is not READY (loading, restarting, failed). */
export class ModelUnavailableError extends HerdError {
  override name = "ModelUnavailableError";
  constructor(
    readonly model: string,
    readonly state: string,
    readonly reason: string,
  ) {
    super(`model '${model}' is not ready (${state}: ${reason}); try again shortly`);
  }
}

/** A name or id that must be unique already exists. */
export class ConflictError extends HerdError {
  override name = "ConflictError";
}

/** A named thing (instance, key, ...) that is not there. */
export class NotFoundError extends HerdError {
  override name = "NotFoundError";
}

/** Something this node cannot do at all (as opposed to cannot do now); the message says what to do instead. */
export class NotSupportedError extends HerdError {
  override name = "NotSupportedError";
}

/** A GGUF file herd cannot use: not GGUF, truncated, or an architecture llama.cpp lacks. */
export class InvalidModelFileError extends HerdError {
  override name = "InvalidModelFileError";
  constructor(
    readonly path: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${problem}`, options);
  }
}

/** A stored model whose file no longer matches the sha256 recorded when it was stored. */
export class ModelCorruptError extends HerdError {
  override name = "ModelCorruptError";
  constructor(
    readonly model: string,
    readonly problem: string,
    readonly source: string,
  ) {
    const again = source.startsWith("hf:")
      ? "pull it again (herd pull), "
      : "import it again from a good copy, ";
    super(
      `model '${model}' is corrupt (${problem}); ${again}or remove it (herd models rm ${model}) and load it with --nodes <this node> to copy it from a peer that holds it`,
    );
  }
}

/** The engine binaries are missing or unusable; `remedy` says what to do. */
export class EngineUnavailableError extends HerdError {
  override name = "EngineUnavailableError";
  constructor(
    message: string,
    readonly remedy: string,
    options?: ErrorOptions,
  ) {
    super(`${message}\n${remedy}`, options);
  }
}

/** The engine answered, but not in a way herd can pass on. */
export class EngineError extends HerdError {
  override name = "EngineError";
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * No set of nodes can hold the model as asked. `requiredBytes` is what it needs on every usable node
 * together, `availableBytes` what those nodes have free; `suggestions` say what would make it fit.
 */
export class NoPlacementError extends HerdError {
  override name = "NoPlacementError";
  constructor(
    readonly model: string,
    readonly requiredBytes: number,
    readonly availableBytes: number,
    readonly suggestions: string[],
    /** Why it fails when the total would be enough (one node's share too big, node limits, links). */
    readonly detail: string | null = null,
    options?: ErrorOptions,
  ) {
    const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
    super(
      `model '${model}' does not fit: it needs ${gib(requiredBytes)}, the usable nodes have ${gib(availableBytes)} free` +
        (detail ? ` (${detail})` : "") +
        (suggestions.length > 0 ? `; to make it fit: ${suggestions.join("; or ")}` : ""),
      options,
    );
  }
}

/** The request carries no API key, or one that is unknown or revoked. */
export class AuthenticationError extends HerdError {
  override name = "AuthenticationError";
}

/** The API key is valid but its scope does not cover this route. */
export class PermissionError extends HerdError {
  override name = "PermissionError";
}

/** The request body is larger than the node accepts (`--max-body`). */
export class PayloadTooLargeError extends HerdError {
  override name = "PayloadTooLargeError";
  constructor(readonly limitBytes: number) {
    super(`the request body is larger than this node accepts (${limitBytes} bytes; see --max-body)`);
  }
}

/** The key used up its requests or tokens per minute; it may try again after `retryAfterSeconds`. */
export class RateLimitError extends HerdError {
  override name = "RateLimitError";
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** Every instance of the model already has as many requests waiting as it may queue (`--max-queue`). */
export class QueueFullError extends HerdError {
  override name = "QueueFullError";
  constructor(
    readonly model: string,
    readonly limit: number,
  ) {
    super(
      `model '${model}' is busy: each of its instances has ${limit} requests queued or running (--max-queue); try again shortly`,
    );
  }
  readonly retryAfterSeconds = 1;
}

/**
 * A model hub (Hugging Face or a mirror) refused or did not know what was asked. `hubStatus` is the
 * hub's HTTP status (401/403: gated or private, 404: no such repository or file, 0: unreachable).
 */
export class HubError extends HerdError {
  override name = "HubError";
  constructor(
    message: string,
    readonly hubStatus: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A download's bytes do not match the checksum its source published; nothing was registered. */
export class ChecksumMismatchError extends HerdError {
  override name = "ChecksumMismatchError";
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `${file} is corrupt: its sha256 is ${actual}, the source says ${expected}; the partial download was discarded, pull again`,
    );
  }
}

/** The disk cannot hold what is to be written. */
export class InsufficientStorageError extends HerdError {
  override name = "InsufficientStorageError";
  constructor(
    readonly directory: string,
    /** Bytes still to be written, when known; `writing`: what the disk filled up under (no size checked before). */
    readonly detail: { neededBytes?: number; availableBytes?: number; writing?: string },
    options?: ErrorOptions,
  ) {
    const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
    const size = (bytes: number) =>
      bytes >= 1024 ** 3 ? gib(bytes) : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
    const free = detail.availableBytes === undefined ? "" : `${size(detail.availableBytes)} free`;
    super(
      detail.writing !== undefined
        ? `no space left on the disk of ${directory}${free ? ` (${free})` : ""} while writing ${detail.writing}; nothing was registered. Free some space, or set HERD_HOME to a larger disk`
        : `not enough disk space in ${directory}: ${gib(detail.neededBytes ?? 0)} more are needed${free ? `, ${free}` : ""}`,
      options,
    );
  }
}
