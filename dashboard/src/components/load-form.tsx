import type { ClusterView } from "../../../src/protocol/cluster.js";
import type { ModelProfile } from "../../../src/protocol/model-profile.js";
import { formatBytes } from "../format.js";

export interface LoadOptions {
  model: string;
  /** Text fields as typed: empty means the node's default. */
  contextSize: string;
  parallel: string;
  split: "auto" | "layer" | "tensor";
  /** Node names: use only these, or never these. */
  nodes: string[];
  avoid: string[];
  minNodes: string;
  maxNodes: string;
}

interface LoadFormProps {
  view: ClusterView;
  models: ModelProfile[];
  options: LoadOptions;
  onChange: (options: LoadOptions) => void;
}

/** The load settings, the same as `herd load`'s flags. */
export function LoadForm({ view, models, options, onChange }: LoadFormProps) {
  const set = (changes: Partial<LoadOptions>) => onChange({ ...options, ...changes });
  const toggle = (list: string[], name: string) =>
    list.includes(name) ? list.filter((entry) => entry !== name) : [...list, name];
  const alive = view.nodes.filter((node) => node.state === "alive");
  return (
    <form class="card form" data-testid="load-form" onSubmit={(event) => event.preventDefault()}>
      <h2>Load a model</h2>
      <label>
        model
        <select
          value={options.model}
          onChange={(event) => set({ model: event.currentTarget.value })}
          data-testid="load-model"
        >
          {models.length === 0 ? <option value="">no models: import one first</option> : null}
          {models.map((model) => (
            <option key={model.name} value={model.name}>
              {model.name} · {formatBytes(model.sizeBytes)}
            </option>
          ))}
        </select>
      </label>
      <div class="row">
        <label>
          context (tokens, all slots)
          <input
            type="number"
            min={16}
            placeholder="default"
            value={options.contextSize}
            onInput={(event) => set({ contextSize: event.currentTarget.value })}
            data-testid="load-context"
          />
        </label>
        <label>
          slots
          <input
            type="number"
            min={1}
            max={256}
            placeholder="4"
            value={options.parallel}
            onInput={(event) => set({ parallel: event.currentTarget.value })}
            data-testid="load-slots"
          />
        </label>
      </div>
      <fieldset>
        <legend>split across nodes</legend>
        <div class="segmented">
          {(["auto", "layer", "tensor"] as const).map((split) => (
            <label key={split} class={options.split === split ? "selected" : ""}>
              <input
                type="radio"
                name="split"
                value={split}
                checked={options.split === split}
                onChange={() => set({ split })}
                data-testid={`split-${split}`}
              />
              {split}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>nodes</legend>
        <table class="table compact">
          <thead>
            <tr>
              <th>node</th>
              <th>free</th>
              <th>only</th>
              <th>avoid</th>
            </tr>
          </thead>
          <tbody>
            {alive.map((node) => (
              <tr key={node.id}>
                <td>{node.name}</td>
                <td class="muted">{node.profile ? formatBytes(node.profile.memoryAvailableBytes) : "–"}</td>
                <td>
                  <input
                    type="checkbox"
                    checked={options.nodes.includes(node.name)}
                    onChange={() => set({ nodes: toggle(options.nodes, node.name) })}
                    aria-label={`use only ${node.name} and the other checked nodes`}
                  />
                </td>
                <td>
                  <input
                    type="checkbox"
                    checked={options.avoid.includes(node.name)}
                    onChange={() => set({ avoid: toggle(options.avoid, node.name) })}
                    aria-label={`never use ${node.name}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="row">
          <label>
            at least
            <input
              type="number"
              min={1}
              placeholder="1"
              value={options.minNodes}
              onInput={(event) => set({ minNodes: event.currentTarget.value })}
              data-testid="load-min-nodes"
            />
          </label>
          <label>
            at most
            <input
              type="number"
              min={1}
              placeholder="all"
              value={options.maxNodes}
              onInput={(event) => set({ maxNodes: event.currentTarget.value })}
            />
          </label>
        </div>
      </fieldset>
      <p class="muted small">
        The same as <code>{commandFor(options)}</code>
      </p>
    </form>
  );
}

/** The CLI command with the same effect, so that what the page does can be repeated in a script. */
function commandFor(options: LoadOptions): string {
  const flags = [
    options.contextSize && `--ctx ${options.contextSize}`,
    options.parallel && `--parallel ${options.parallel}`,
    options.split !== "auto" && `--split ${options.split}`,
    options.nodes.length > 0 && `--nodes ${options.nodes.join(",")}`,
    options.avoid.length > 0 && `--avoid ${options.avoid.join(",")}`,
    options.minNodes && `--min-nodes ${options.minNodes}`,
    options.maxNodes && `--max-nodes ${options.maxNodes}`,
  ].filter(Boolean);
  return ["herd load", options.model || "MODEL", ...flags].join(" ");
}
