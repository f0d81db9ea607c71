import { useState } from "preact/hooks";

/** Asks for an API key; nothing of the cluster is shown until the node accepts one. */
export function KeyPrompt({ onKey, refused }: { onKey: (key: string) => void; refused: boolean }) {
  const [key, setKey] = useState("");
  return (
    <main class="key-prompt">
      <form
        class="card"
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) onKey(key.trim());
        }}
        data-testid="key-prompt"
      >
        <h1 class="brand">herd</h1>
        <p>This node requires an API key.</p>
        <p class="muted">
          Create one on a node with <code>herd keys create</code>. It is kept in this tab only, until you
          close it.
        </p>
        <input
          type="password"
          autoComplete="off"
          placeholder="API key"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          data-testid="key-input"
          // biome-ignore lint/a11y/noAutofocus: the key is the only thing this page asks for
          autoFocus
        />
        {refused ? (
          <p class="error" data-testid="key-refused">
            The node refused this key.
          </p>
        ) : null}
        <button type="submit" class="primary">
          Open the dashboard
        </button>
      </form>
    </main>
  );
}
