import { useEffect, useRef, useState } from "preact/hooks";
import { followLoad } from "../../../src/client/follow-load.js";
import type { HerdClient } from "../../../src/client/herd-client.js";
import type { LoadModelRequest } from "../../../src/protocol/management.js";
import { errorMessage, isUnauthorized } from "../connection.js";

/** A load as the page shows it: its first instance, the states it went through, why it stopped. */
export interface FollowedLoad {
  id?: string;
  states: string[];
  error?: string;
}

/**
 * Loads a model and keeps the states of its first instance as `followLoad` observes them. A new
 * load, or the page going away, stops following the previous one (the load itself goes on).
 */
export function useFollowedLoad(client: HerdClient, onUnauthorized: () => void) {
  const [loading, setLoading] = useState<FollowedLoad | undefined>();
  const following = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => following.current?.abort(), []);

  const load = async (request: LoadModelRequest) => {
    following.current?.abort();
    const stop = new AbortController();
    following.current = stop;
    setLoading({ states: [] });
    try {
      await followLoad(client, request, {
        signal: stop.signal,
        onProgress: (progress) => {
          if (progress.type === "load-placed") return setLoading({ id: progress.answer.id, states: [] });
          const line = `${progress.state}: ${progress.reason}`;
          setLoading((current) =>
            current?.id === progress.instanceId ? { ...current, states: [...current.states, line] } : current,
          );
        },
      });
    } catch (error) {
      if (stop.signal.aborted) return;
      if (isUnauthorized(error)) return onUnauthorized();
      setLoading((current) => ({
        id: current?.id,
        states: current?.states ?? [],
        error: errorMessage(error),
      }));
    }
  };
  return { loading, load };
}
