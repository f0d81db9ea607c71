import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import type { HerdClient } from "../../src/client/herd-client.js";
import type { ClusterView } from "../../src/protocol/cluster.js";
import type { NodeEvent } from "../../src/protocol/events.js";
import type { LiveCluster } from "./live-cluster.js";

export interface AppServices {
  client: HerdClient;
  live: LiveCluster;
  /** Called with any error: asks for a key again when the node answered 401. */
  onUnauthorized: () => void;
}

export const AppContext = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const services = useContext(AppContext);
  if (!services) throw new Error("the dashboard's services are not provided");
  return services;
}

/** The live cluster view; the component renders again whenever it changes. */
export function useCluster(): {
  view: ClusterView | undefined;
  connected: boolean;
  error: string | undefined;
} {
  const { live } = useServices();
  const [, setVersion] = useState(0);
  useEffect(() => live.onChange(() => setVersion((version) => version + 1)), [live]);
  return { view: live.view, connected: live.connected, error: live.error };
}

/** Calls `listener` with every event the node publishes while the component is shown. */
export function useNodeEvents(listener: (event: NodeEvent) => void): void {
  const { live } = useServices();
  const current = useRef(listener);
  current.current = listener;
  useEffect(() => live.onEvent((event) => current.current(event)), [live]);
}
