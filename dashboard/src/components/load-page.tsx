import { useEffect, useRef, useState } from "preact/hooks";
import type { PlanView } from "../../../src/client/herd-client.js";
import type { ClusterView } from "../../../src/protocol/cluster.js";
import type { LoadModelRequest } from "../../../src/protocol/management.js";
import type { ModelProfile } from "../../../src/protocol/model-profile.js";
import { useServices } from "../app-context.js";
import { errorMessage, isUnauthorized } from "../connection.js";
import { nodeColours, nodeName } from "../node-colours.js";
import { LoadForm, type LoadOptions } from "./load-form.js";
import { PlanPreview } from "./plan-preview.js";
import { useFollowedLoad } from "./use-followed-load.js";

type Preview =
  | { kind: "plan"; plan: PlanView }
  | { kind: "no-fit"; summary: string; suggestions: string[] }
  | { kind: "error"; message: string };

/** Splits the planner's refusal into its explanation and its suggestions. */
function noFit(message: string): Preview {
  const [summary, suggestions] = message.split("; to make it fit: ");
  return { kind: "no-fit", summary: summary!, suggestions: suggestions ? suggestions.split("; or ") : [] };
}

function toRequest(options: LoadOptions): LoadModelRequest {
  const number = (text: string) => (text.trim() === "" ? undefined : Number(text));
  return {
    model: options.model,
    contextSize: number(options.contextSize),
    parallel: number(options.parallel),
    split: options.split,
    nodes: options.nodes.length > 0 ? options.nodes : undefined,
    avoid: options.avoid.length > 0 ? options.avoid : undefined,
    minNodes: number(options.minNodes),
    maxNodes: number(options.maxNodes),
  };
}

/** Choose a model and settings, see the planner's dry run, then load it and watch its states. */
export function LoadPage({ view, initialModel }: { view: ClusterView; initialModel: string | undefined }) {
  const { client, onUnauthorized } = useServices();
  const [models, setModels] = useState<ModelProfile[]>([]);
  const [options, setOptions] = useState<LoadOptions>({
    model: initialModel ?? "",
    contextSize: "",
    parallel: "",
    split: "auto",
    nodes: [],
    avoid: [],
    minNodes: "",
    maxNodes: "",
  });
  const [preview, setPreview] = useState<Preview | undefined>();
  const [planning, setPlanning] = useState(false);
  const asked = useRef(0);

  useEffect(() => {
    client.models().then(
      (list) => {
        setModels(list);
        setOptions((current) => (current.model || !list[0] ? current : { ...current, model: list[0].name }));
      },
      (error: unknown) =>
        isUnauthorized(error)
          ? onUnauthorized()
          : setPreview({ kind: "error", message: errorMessage(error) }),
    );
  }, [client, onUnauthorized]);

  // The dry run follows the form, a moment after the last change.
  useEffect(() => {
    if (!options.model) return;
    const request = toRequest(options);
    const ask = ++asked.current;
    setPlanning(true);
    const timer = setTimeout(() => {
      client
        .plan(request)
        .then(
          (plan) => ask === asked.current && setPreview({ kind: "plan", plan }),
          (error: unknown) => {
            if (ask !== asked.current) return;
            if (isUnauthorized(error)) return onUnauthorized();
            const message = errorMessage(error);
            setPreview(message.includes("does not fit") ? noFit(message) : { kind: "error", message });
          },
        )
        .finally(() => ask === asked.current && setPlanning(false));
    }, 200);
    return () => clearTimeout(timer);
  }, [client, onUnauthorized, options]);

  const { loading, load } = useFollowedLoad(client, onUnauthorized);
  // The "Ready" below follows the cluster view, as the rest of the page does.
  const summary = loading?.id ? view.instances.find((instance) => instance.id === loading.id) : undefined;
  const model = models.find((candidate) => candidate.name === options.model);

  return (
    <div class="page columns load-page">
      <LoadForm view={view} models={models} options={options} onChange={setOptions} />
      <section class="card preview" data-testid="plan-preview" data-planning={planning}>
        <header class="section-header">
          <h2>Plan</h2>
          <span class="muted">{planning ? "planning…" : "dry run: nothing starts until you confirm"}</span>
        </header>
        {preview?.kind === "plan" ? (
          <PlanPreview
            plan={preview.plan}
            layerCount={model?.layerCount ?? 0}
            colours={nodeColours(view)}
            name={(id) => nodeName(view, id)}
            view={view}
          />
        ) : null}
        {preview?.kind === "no-fit" ? (
          <div class="no-fit" data-testid="no-placement">
            <p class="error">{preview.summary}</p>
            {preview.suggestions.length > 0 ? (
              <>
                <h3>To make it fit</h3>
                <ul>
                  {preview.suggestions.map((suggestion) => (
                    <li key={suggestion}>{suggestion}</li>
                  ))}
                </ul>
              </>
            ) : null}
          </div>
        ) : null}
        {preview?.kind === "error" ? <p class="error">{preview.message}</p> : null}
        <div class="row">
          <button
            type="button"
            class="primary"
            disabled={
              preview?.kind !== "plan" ||
              planning ||
              (loading !== undefined && !loading.error && summary?.state !== "READY")
            }
            onClick={() => load(toRequest(options))}
            data-testid="confirm-load"
          >
            Load {options.model}
          </button>
          {summary?.state === "READY" ? (
            <span class="ok">
              Ready. <a href="#/">See it in the cluster</a> or{" "}
              <a href={`#/chat?model=${encodeURIComponent(summary.model)}`}>chat with it</a>.
            </span>
          ) : null}
        </div>
        {loading ? (
          <ol class="state-log" data-testid="load-states">
            {loading.error ? <li class="error">{loading.error}</li> : null}
            {loading.states.map((line, index) => (
              <li key={index}>{line}</li>
            ))}
          </ol>
        ) : null}
      </section>
    </div>
  );
}
