import { useCallback, useEffect, useState } from "preact/hooks";
import type { ModelProfile } from "../../../src/protocol/model-profile.js";
import { useNodeEvents, useServices } from "../app-context.js";
import { errorMessage, isUnauthorized } from "../connection.js";
import { formatBytes, formatCount, formatFileType } from "../format.js";
import { AliasList } from "./alias-list.js";
import { ImportForm, PullForm } from "./model-forms.js";

type StoredModel = ModelProfile & { instances: string[] };

/** The models in this node's store: what they are, and import, pull, load and delete. */
export function ModelsPage() {
  const { client, onUnauthorized } = useServices();
  const [models, setModels] = useState<StoredModel[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const reload = useCallback(async () => {
    try {
      setModels(await client.models());
      setError(undefined);
    } catch (failure) {
      if (isUnauthorized(failure)) onUnauthorized();
      else setError(errorMessage(failure));
    }
  }, [client, onUnauthorized]);
  useEffect(() => void reload(), [reload]);
  useNodeEvents((event) => {
    if (
      event.type === "model-imported" ||
      event.type === "model-removed" ||
      event.type.startsWith("instance-")
    ) {
      void reload();
    }
  });

  const remove = async (model: StoredModel) => {
    const inUse = model.instances.length > 0;
    const question = inUse
      ? `${model.name} is loaded (${model.instances.join(", ")}). Unload it and delete its file from this node?`
      : `Delete ${model.name} (${formatBytes(model.sizeBytes)}) from this node's store?`;
    if (!confirm(question)) return;
    try {
      await client.removeModel(model.name, { force: inUse });
      await reload();
    } catch (failure) {
      if (isUnauthorized(failure)) onUnauthorized();
      else setError(errorMessage(failure));
    }
  };

  return (
    <div class="page">
      <section class="card">
        <header class="section-header">
          <h2>Models on this node</h2>
          <span class="muted">{models ? `${models.length} in the store` : "loading…"}</span>
        </header>
        {error ? <p class="error">{error}</p> : null}
        {models && models.length === 0 ? (
          <p class="empty">No models yet: import a GGUF file or pull one below.</p>
        ) : null}
        {models && models.length > 0 ? (
          <table class="table" data-testid="models">
            <thead>
              <tr>
                <th>name</th>
                <th>architecture</th>
                <th>quantization</th>
                <th class="number">parameters</th>
                <th class="number">size</th>
                <th class="number">layers</th>
                <th class="number">context</th>
                <th>loaded</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {models.map((model) => (
                <tr key={model.name} data-testid="model-row" data-model={model.name}>
                  <td>
                    <strong>{model.name}</strong>
                    <div class="muted small" title={model.source}>
                      {model.storage} ·{" "}
                      {model.source.length > 48 ? `…${model.source.slice(-47)}` : model.source}
                    </div>
                  </td>
                  <td>{model.architecture}</td>
                  <td>{formatFileType(model.fileType)}</td>
                  <td class="number">{formatCount(model.parameterCount)}</td>
                  <td class="number">{formatBytes(model.sizeBytes)}</td>
                  <td class="number">{model.layerCount}</td>
                  <td class="number">{model.trainContextLength.toLocaleString()}</td>
                  <td>
                    {model.instances.length > 0 ? model.instances.join(", ") : <span class="muted">–</span>}
                  </td>
                  <td class="actions">
                    <a class="button" href={`#/load?model=${encodeURIComponent(model.name)}`}>
                      Load…
                    </a>
                    <button type="button" class="danger" onClick={() => remove(model)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      <AliasList />
      <div class="columns">
        <ImportForm onDone={reload} />
        <PullForm onDone={reload} />
      </div>
    </div>
  );
}
