import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { ClusterView } from "../../src/protocol/cluster.js";
import { AppContext, type AppServices, useCluster } from "./app-context.js";
import { ChatPage } from "./components/chat-page.js";
import { ClusterPage } from "./components/cluster-page.js";
import { JoinPanel } from "./components/join-panel.js";
import { KeyPrompt } from "./components/key-prompt.js";
import { LoadPage } from "./components/load-page.js";
import { ModelsPage } from "./components/models-page.js";
import { clientFor, errorMessage, isUnauthorized, storedKey, storeKey } from "./connection.js";
import { LiveCluster } from "./live-cluster.js";
import { nodeName } from "./node-colours.js";
import { type Route, useRoute } from "./route.js";

type Access =
  | { kind: "checking" }
  | { kind: "needs-key"; refused: boolean }
  | { kind: "open"; view: ClusterView | undefined; error?: string };

/**
 * Asks the node for the cluster once; a 401 means the node wants an API key, and nothing of the
 * cluster is shown until it accepts one. The key is kept in sessionStorage (this tab only).
 */
export function App() {
  const [key, setKey] = useState(storedKey);
  const [access, setAccess] = useState<Access>({ kind: "checking" });
  const client = useMemo(() => clientFor(key), [key]);
  const onUnauthorized = useCallback(() => {
    storeKey(undefined);
    setAccess({ kind: "needs-key", refused: key !== undefined });
  }, [key]);

  useEffect(() => {
    setAccess({ kind: "checking" });
    client.cluster().then(
      (view) => setAccess({ kind: "open", view }),
      (error: unknown) => {
        if (isUnauthorized(error)) onUnauthorized();
        else setAccess({ kind: "open", view: undefined, error: errorMessage(error) });
      },
    );
  }, [client, onUnauthorized]);

  if (access.kind === "checking") return <main class="splash">herd</main>;
  if (access.kind === "needs-key") {
    return (
      <KeyPrompt
        refused={access.refused}
        onKey={(given) => {
          storeKey(given);
          setKey(given);
        }}
      />
    );
  }
  return (
    <Dashboard
      client={client}
      initial={access.view}
      onUnauthorized={onUnauthorized}
      signedIn={key !== undefined}
      onSignOut={() => {
        storeKey(undefined);
        setKey(undefined);
      }}
    />
  );
}

interface DashboardProps {
  client: AppServices["client"];
  initial: ClusterView | undefined;
  onUnauthorized: () => void;
  signedIn: boolean;
  onSignOut: () => void;
}

function Dashboard({ client, initial, onUnauthorized, signedIn, onSignOut }: DashboardProps) {
  const live = useMemo(
    () => new LiveCluster(client, onUnauthorized, initial),
    [client, onUnauthorized, initial],
  );
  useEffect(() => {
    live.start();
    return () => live.dispose();
  }, [live]);
  const services = useMemo(() => ({ client, live, onUnauthorized }), [client, live, onUnauthorized]);
  return (
    <AppContext.Provider value={services}>
      <Shell signedIn={signedIn} onSignOut={onSignOut} />
    </AppContext.Provider>
  );
}

const tabs: Array<{ page: Route["page"]; label: string; href: string }> = [
  { page: "cluster", label: "Cluster", href: "#/" },
  { page: "models", label: "Models", href: "#/models" },
  { page: "load", label: "Load", href: "#/load" },
  { page: "chat", label: "Chat", href: "#/chat" },
];

function Shell({ signedIn, onSignOut }: { signedIn: boolean; onSignOut: () => void }) {
  const { view, connected, error } = useCluster();
  const route = useRoute();
  const [joining, setJoining] = useState(false);
  const alive = view?.nodes.filter((node) => node.state === "alive").length ?? 0;
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/">
          herd
        </a>
        {view ? (
          <span class="cluster-summary" data-testid="cluster-summary">
            {alive}/{view.nodes.length} nodes · coordinator{" "}
            {view.coordinator ? nodeName(view, view.coordinator) : "none"} · epoch {view.epoch}
          </span>
        ) : null}
        <nav class="tabs">
          {tabs.map((tab) => (
            <a key={tab.page} href={tab.href} class={route.page === tab.page ? "tab active" : "tab"}>
              {tab.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <span
          class={connected ? "live live-on" : "live"}
          title={connected ? "following the node's events" : (error ?? "connecting")}
          data-testid="live"
        >
          {connected ? "live" : "reconnecting"}
        </span>
        <button type="button" onClick={() => setJoining(!joining)} data-testid="join-button">
          Add a machine
        </button>
        {signedIn ? (
          <button type="button" class="quiet" onClick={onSignOut} title="forget the API key in this tab">
            Sign out
          </button>
        ) : null}
      </header>
      {joining ? <JoinPanel onClose={() => setJoining(false)} /> : null}
      {error && !view ? <p class="error page">Cannot reach the node: {error}</p> : null}
      {view ? <Page route={route} view={view} /> : null}
    </>
  );
}

function Page({ route, view }: { route: Route; view: ClusterView }) {
  switch (route.page) {
    case "cluster":
      return <ClusterPage view={view} />;
    case "models":
      return <ModelsPage />;
    case "load":
      return <LoadPage view={view} initialModel={route.model} />;
    case "chat":
      return <ChatPage view={view} initialModel={route.model} />;
  }
}
