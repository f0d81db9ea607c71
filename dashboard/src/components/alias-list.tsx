import { useCallback, useEffect, useState } from "preact/hooks";
import type { AliasStatus } from "../../../src/protocol/aliases.js";
import { useCluster, useServices } from "../app-context.js";
import { errorMessage, isUnauthorized } from "../connection.js";

/** The cluster's aliases: each chain with the entry that serves now and why, and its switches. */
export function AliasList() {
  const { client, onUnauthorized } = useServices();
  const { view } = useCluster();
  const [aliases, setAliases] = useState<AliasStatus[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const reload = useCallback(async () => {
    try {
      setAliases((await client.aliases()).aliases);
      setError(undefined);
    } catch (failure) {
      if (isUnauthorized(failure)) onUnauthorized();
      else setError(errorMessage(failure));
    }
  }, [client, onUnauthorized]);
  // Which entry serves moves with the cluster: asked again at each new view (epoch or instance state).
  const epoch = view?.epoch;
  const states = view?.instances.map((instance) => `${instance.id}:${instance.state}`).join(",");
  useEffect(() => void reload(), [reload, epoch, states]);
  if (!error && (!aliases || aliases.length === 0)) return null;
  return (
    <section class="card" data-testid="aliases">
      <header class="section-header">
        <h2>Aliases</h2>
        <span class="muted">names that answer from the first READY entry of their chain</span>
      </header>
      {error ? <p class="error">{error}</p> : null}
      <table class="table">
        <thead>
          <tr>
            <th>alias</th>
            <th>chain</th>
            <th>serving now</th>
            <th>switches</th>
          </tr>
        </thead>
        <tbody>
          {(aliases ?? []).map((alias) => (
            <tr key={alias.name} data-testid="alias-row" data-alias={alias.name}>
              <td>
                <strong>{alias.name}</strong>
                {alias.keepLoaded ? <div class="muted small">kept loaded</div> : null}
              </td>
              <td>
                {alias.chain.map((entry, index) => (
                  <span key={entry}>
                    {index > 0 ? " › " : ""}
                    {entry === alias.serving ? <strong>{entry}</strong> : <span class="muted">{entry}</span>}
                  </span>
                ))}
              </td>
              <td>
                {alias.serving ?? <span class="error">none</span>}
                <div class="muted small">{alias.reason}</div>
              </td>
              <td>
                {alias.switches.length === 0 ? <span class="muted">–</span> : null}
                {[...alias.switches].reverse().map((entry) => (
                  <div key={entry.at} class="small">
                    {new Date(entry.at).toLocaleTimeString()} {entry.from ?? "–"} → {entry.to ?? "–"}
                    <div class="muted small">{entry.reason}</div>
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
