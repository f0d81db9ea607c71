/** An error answer from a herd node, with the fields of its error body. */
export class HerdApiError extends Error {
  override name = "HerdApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The node could not be reached at all. */
export class HerdUnreachableError extends Error {
  override name = "HerdUnreachableError";
}
