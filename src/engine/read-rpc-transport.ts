/** How a shard's RPC connection runs, as its ggml-rpc-server's log says. */
export type RpcTransportState =
  | { transport: "rdma"; detail: string }
  | { transport: "tcp"; rdmaFailed?: string }
  /** No client connected yet. */
  | { transport: "none" };

/** RDMA error lines of the current connection, held until the activation's outcome. */
export interface RpcLogState {
  current: RpcTransportState;
  errors: readonly string[];
}

export const initialRpcLogState: RpcLogState = { current: { transport: "none" }, errors: [] };

const accepted = /Accepted client connection/;
const activated = /RDMA(?:\(Apple\/UC\))? activated: (.*)$/;
const activateFailed = /RDMA activate failed, staying on TCP/;
const rdmaError = /(RDMA(?:\(Apple\/UC\))? .*(?:failed|error).*)$/;

/**
 * Folds one line of a ggml-rpc-server's log into what its latest client connection runs on: a
 * connection runs on TCP; `RDMA activated: ...` or `RDMA(Apple/UC) activated: ...` moves it to RDMA; `RDMA activate failed, staying on TCP` keeps it on TCP with the RDMA errors
 * logged before it (on macOS `RDMA(Apple/UC) RTR failed: <errno text>`; Linux logs no reason).
 * A peer without RDMA takes no part, and the connection stays on TCP without a line (so a client
 * that reconnects without RDMA after one with it is not seen: the last outcome logged stands).
 */
export function foldRpcLogLine(state: RpcLogState, line: string): RpcLogState {
  // `Accepted client connection` is printf to stdout, buffered in a pipe, while the RDMA lines go to
  // stderr at once: it may arrive after them, so it only says that some client connected.
  if (accepted.test(line))
    return state.current.transport === "none" ? { ...state, current: { transport: "tcp" } } : state;
  const active = activated.exec(line);
  if (active) return { current: { transport: "rdma", detail: active[1]!.trim() }, errors: [] };
  if (activateFailed.test(line)) {
    const reason = state.errors.length > 0 ? state.errors.join("; ") : "activate failed";
    return { current: { transport: "tcp", rdmaFailed: reason }, errors: [] };
  }
  const error = rdmaError.exec(line);
  if (error) return { ...state, errors: [...state.errors.slice(-4), error[1]!.trim()] };
  return state;
}

/** `foldRpcLogLine` over a whole log. */
export function readRpcTransport(lines: Iterable<string>): RpcTransportState {
  let state = initialRpcLogState;
  for (const line of lines) state = foldRpcLogLine(state, line);
  return state.current;
}

/**
 * The words herd shows for a shard's RPC: `rdma (active)`, `tcp (rdma failed: <the engine's words>)`,
 * `tcp`; undefined before a client connected.
 */
export function describeRpcTransport(state: RpcTransportState): string | undefined {
  switch (state.transport) {
    case "rdma":
      return "rdma (active)";
    case "tcp":
      return state.rdmaFailed ? `tcp (rdma failed: ${state.rdmaFailed})` : "tcp";
    case "none":
      return undefined;
  }
}
