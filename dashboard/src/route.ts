import { useEffect, useState } from "preact/hooks";

export interface Route {
  page: "cluster" | "models" | "load" | "chat";
  /** `?model=` in the hash: the model a link asked for. */
  model: string | undefined;
}

function parse(hash: string): Route {
  const [path, query] = hash.replace(/^#\/?/, "").split("?");
  const page = (["models", "load", "chat"] as const).find((candidate) => candidate === path) ?? "cluster";
  return { page, model: new URLSearchParams(query ?? "").get("model") ?? undefined };
}

/** The page named in the location's hash (`#/models`, `#/load?model=NAME`, ...). */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const update = () => setRoute(parse(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
