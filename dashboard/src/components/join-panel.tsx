import { useState } from "preact/hooks";
import { useServices } from "../app-context.js";
import { errorMessage, isUnauthorized } from "../connection.js";

/** The command that adds a machine; the token (it holds the cluster key) is fetched only when revealed. */
export function JoinPanel({ onClose }: { onClose: () => void }) {
  const { client, onUnauthorized } = useServices();
  const [token, setToken] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [copied, setCopied] = useState(false);
  const reveal = async () => {
    try {
      setToken(await client.joinToken());
    } catch (failure) {
      if (isUnauthorized(failure)) onUnauthorized();
      else setError(errorMessage(failure));
    }
  };
  const command = `herd start --host 0.0.0.0 --join ${token ?? "••••••••••••••••••••"}`;
  return (
    <div class="popover card" data-testid="join-panel">
      <header class="section-header">
        <h2>Add a machine</h2>
        <span class="spacer" />
        <button type="button" class="quiet" onClick={onClose} aria-label="close">
          ✕
        </button>
      </header>
      <p class="muted">
        Run this on the new machine (same LAN; add <code>--peers host:52416</code> where multicast does not
        reach). The token holds the cluster key: share it like a password.
      </p>
      <pre class="command" data-testid="join-command">
        {command}
      </pre>
      <div class="row">
        {token ? (
          <button
            type="button"
            onClick={() => {
              void navigator.clipboard?.writeText(command).then(() => setCopied(true));
            }}
          >
            {copied ? "Copied" : "Copy"}
          </button>
        ) : (
          <button type="button" class="primary" onClick={reveal} data-testid="reveal-token">
            Reveal token
          </button>
        )}
        {token ? (
          <button type="button" class="quiet" onClick={() => setToken(undefined)}>
            Hide
          </button>
        ) : null}
      </div>
      {error ? <p class="error">{error}</p> : null}
    </div>
  );
}
