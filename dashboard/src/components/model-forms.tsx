import { useRef, useState } from "preact/hooks";
import type { PullProgress } from "../../../src/protocol/management.js";
import { useServices } from "../app-context.js";
import { errorMessage, isMissingRoute, isUnauthorized } from "../connection.js";
import { formatBytes, formatDuration, formatThroughput } from "../format.js";

/** Registers a GGUF file that is on this node's disk. */
export function ImportForm({ onDone }: { onDone: () => void }) {
  const { client, onUnauthorized } = useServices();
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const [status, setStatus] = useState<{ error?: string; message?: string; busy?: boolean }>({});
  const submit = async (event: Event) => {
    event.preventDefault();
    setStatus({ busy: true });
    try {
      const profile = await client.importModel({ path: path.trim(), name: name.trim() || undefined });
      setStatus({
        message: `imported ${profile.name} (${formatBytes(profile.sizeBytes)}, ${profile.storage})`,
      });
      setPath("");
      setName("");
      onDone();
    } catch (failure) {
      if (isUnauthorized(failure)) onUnauthorized();
      setStatus({ error: errorMessage(failure) });
    }
  };
  return (
    <form class="card form" onSubmit={submit} data-testid="import-form">
      <h2>Import a file</h2>
      <label>
        path on this node
        <input
          value={path}
          onInput={(event) => setPath(event.currentTarget.value)}
          placeholder="/models/llama-3.1-8b-instruct-q4_k_m.gguf"
          required
        />
      </label>
      <label>
        <span>
          name <span class="muted">(optional)</span>
        </span>
        <input
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
          placeholder="from the file"
        />
      </label>
      <div class="row">
        <button type="submit" class="primary" disabled={status.busy}>
          {status.busy ? "Importing…" : "Import"}
        </button>
        {status.message ? <span class="ok">{status.message}</span> : null}
      </div>
      {status.error ? <p class="error">{status.error}</p> : null}
    </form>
  );
}

/** Fetches a model from a hub, with a progress bar, speed and time left. */
export function PullForm({ onDone }: { onDone: () => void }) {
  const { client, onUnauthorized } = useServices();
  const [ref, setRef] = useState("");
  const [progress, setProgress] = useState<PullProgress | undefined>();
  const [status, setStatus] = useState<{ error?: string; message?: string; unavailable?: boolean }>({});
  const abort = useRef<AbortController | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    abort.current = new AbortController();
    setStatus({});
    setProgress({ phase: "resolving", completed: 0, total: 0 });
    try {
      const profile = await client.pullModel({ ref: ref.trim() }, setProgress, abort.current.signal);
      setStatus({ message: `pulled ${profile.name} (${formatBytes(profile.sizeBytes)})` });
      setRef("");
      onDone();
    } catch (failure) {
      if (isUnauthorized(failure)) onUnauthorized();
      else if (isMissingRoute(failure)) setStatus({ unavailable: true });
      else if (abort.current?.signal.aborted) setStatus({ message: "pull cancelled" });
      else setStatus({ error: errorMessage(failure) });
    } finally {
      setProgress(undefined);
      abort.current = undefined;
    }
  };
  const fraction = progress && progress.total > 0 ? progress.completed / progress.total : 0;
  const left =
    progress?.bytesPerSecond && progress.total > progress.completed
      ? ((progress.total - progress.completed) / progress.bytesPerSecond) * 1000
      : undefined;
  return (
    <form class="card form" onSubmit={submit} data-testid="pull-form">
      <h2>Pull from a hub</h2>
      <label>
        repository
        <input
          value={ref}
          onInput={(event) => setRef(event.currentTarget.value)}
          placeholder="owner/repo:Q4_K_M or owner/repo/file.gguf"
          required
          disabled={progress !== undefined || status.unavailable}
        />
      </label>
      {progress ? (
        <div class="pull-progress" data-testid="pull-progress">
          <progress max={1} value={fraction} />
          <div class="muted small">
            {progress.phase}
            {progress.file ? ` ${progress.file}` : ""}
            {progress.total > 0
              ? ` · ${formatBytes(progress.completed)} of ${formatBytes(progress.total)}`
              : ""}
            {progress.bytesPerSecond ? ` · ${formatThroughput(progress.bytesPerSecond)}` : ""}
            {left !== undefined ? ` · ${formatDuration(left)} left` : ""}
          </div>
        </div>
      ) : null}
      <div class="row">
        {progress ? (
          <button type="button" onClick={() => abort.current?.abort()}>
            Cancel
          </button>
        ) : (
          <button type="submit" class="primary" disabled={status.unavailable}>
            Pull
          </button>
        )}
        {status.message ? <span class="ok">{status.message}</span> : null}
      </div>
      {status.unavailable ? (
        <p class="muted" data-testid="pull-unavailable">
          This node's herd cannot pull models yet; import a file instead.
        </p>
      ) : null}
      {status.error ? <p class="error">{status.error}</p> : null}
    </form>
  );
}
