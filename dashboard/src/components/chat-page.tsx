import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatRequest } from "../../../src/client/herd-client.js";
import type { ClusterView } from "../../../src/protocol/cluster.js";
import { useServices } from "../app-context.js";
import { errorMessage, isUnauthorized } from "../connection.js";
import { formatRate } from "../format.js";

interface ReplyStats {
  timeToFirstTokenMs?: number;
  tokens: number;
  tokensPerSecond?: number;
  ending: string;
}

interface Message {
  role: "user" | "assistant";
  content: string;
  stats?: ReplyStats;
  error?: string;
}

/** A conversation with a loaded model, streamed, with time to first token and tokens/s per reply. */
export function ChatPage({ view, initialModel }: { view: ClusterView; initialModel: string | undefined }) {
  const { client, onUnauthorized } = useServices();
  const ready = [
    ...new Set(
      view.instances.filter((instance) => instance.state === "READY").map((instance) => instance.model),
    ),
  ].sort();
  const [model, setModel] = useState(initialModel ?? "");
  const [system, setSystem] = useState("");
  const [temperature, setTemperature] = useState("0.7");
  const [maxTokens, setMaxTokens] = useState("512");
  const [messages, setMessages] = useState<Message[]>([]);
  const [input, setInput] = useState("");
  const streaming = useRef<AbortController | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const log = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!model && ready[0]) setModel(ready[0]);
  }, [model, ready[0]]);
  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight });
  }, [messages]);

  const send = async () => {
    const text = input.trim();
    if (!text || !model || busy) return;
    const history: Message[] = [
      ...messages.filter((message) => !message.error),
      { role: "user", content: text },
    ];
    setMessages([...history, { role: "assistant", content: "" }]);
    setInput("");
    setBusy(true);
    const abort = new AbortController();
    streaming.current = abort;
    const request: ChatRequest = {
      model,
      messages: [
        ...(system.trim() ? [{ role: "system" as const, content: system.trim() }] : []),
        ...history.map((message) => ({ role: message.role, content: message.content })),
      ],
      temperature: Number(temperature),
      max_tokens: Number(maxTokens),
    };
    const started = performance.now();
    let firstTokenAt: number | undefined;
    let deltas = 0;
    let reply = "";
    const update = (changes: Partial<Message>) =>
      setMessages([...history, { role: "assistant", content: reply, ...changes }]);
    const statsNow = (ending: string, tokens = deltas): ReplyStats => {
      const decodeMs = firstTokenAt !== undefined ? performance.now() - firstTokenAt : 0;
      return {
        timeToFirstTokenMs: firstTokenAt !== undefined ? firstTokenAt - started : undefined,
        tokens,
        // The first token's time is the prompt's; the rate counts the tokens generated after it.
        tokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) / decodeMs) * 1000 : undefined,
        ending,
      };
    };
    try {
      for await (const part of client.streamChat(request, abort.signal)) {
        if (part.type === "text-delta") {
          firstTokenAt ??= performance.now();
          deltas++;
          reply += part.text;
          update({});
        } else {
          update({ stats: statsNow(part.reason ?? "end", part.completionTokens ?? deltas) });
        }
      }
    } catch (error) {
      if (abort.signal.aborted) update({ stats: statsNow("stopped") });
      else if (isUnauthorized(error)) onUnauthorized();
      else update({ error: errorMessage(error), stats: statsNow("error") });
    } finally {
      streaming.current = undefined;
      setBusy(false);
    }
  };

  return (
    <div class="page chat-page">
      <section class="card chat" data-testid="chat">
        <header class="section-header chat-settings">
          <label>
            model
            <select
              value={model}
              onChange={(event) => setModel(event.currentTarget.value)}
              data-testid="chat-model"
            >
              {ready.length === 0 ? <option value="">no model is ready</option> : null}
              {ready.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <label>
            temperature
            <input
              type="number"
              step="0.1"
              min="0"
              max="2"
              value={temperature}
              onInput={(event) => setTemperature(event.currentTarget.value)}
              data-testid="chat-temperature"
            />
          </label>
          <label>
            max tokens
            <input
              type="number"
              min="1"
              value={maxTokens}
              onInput={(event) => setMaxTokens(event.currentTarget.value)}
              data-testid="chat-max-tokens"
            />
          </label>
          <label class="grow">
            system prompt
            <input
              value={system}
              placeholder="none"
              onInput={(event) => setSystem(event.currentTarget.value)}
            />
          </label>
          <button
            type="button"
            class="quiet"
            disabled={busy || messages.length === 0}
            onClick={() => setMessages([])}
          >
            Clear
          </button>
        </header>
        <div class="chat-log" ref={log} data-testid="chat-log">
          {messages.length === 0 ? (
            <p class="empty">
              {ready.length > 0 ? (
                "Ask something. Replies stream from the cluster."
              ) : (
                <span>
                  Load a model first (<a href="#/load">Load</a>).
                </span>
              )}
            </p>
          ) : null}
          {messages.map((message, index) => (
            <div
              key={index}
              class={`message message-${message.role}`}
              data-testid={`message-${message.role}`}
            >
              <div class="message-text">
                {message.content || (message.role === "assistant" && busy ? "…" : "")}
              </div>
              {message.error ? <p class="error">{message.error}</p> : null}
              {message.stats ? <StatsLine stats={message.stats} /> : null}
            </div>
          ))}
        </div>
        <form
          class="chat-input"
          onSubmit={(event) => {
            event.preventDefault();
            void send();
          }}
        >
          <textarea
            value={input}
            rows={2}
            placeholder={
              model ? `Message ${model} (Enter sends, Shift+Enter for a new line)` : "no model is ready"
            }
            onInput={(event) => setInput(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === "Enter" && !event.shiftKey) {
                event.preventDefault();
                void send();
              }
            }}
            data-testid="chat-input"
          />
          {busy ? (
            <button
              type="button"
              class="danger"
              onClick={() => streaming.current?.abort()}
              data-testid="chat-stop"
            >
              Stop
            </button>
          ) : (
            <button type="submit" class="primary" disabled={!model || !input.trim()} data-testid="chat-send">
              Send
            </button>
          )}
        </form>
      </section>
    </div>
  );
}

function StatsLine({ stats }: { stats: ReplyStats }) {
  return (
    <div class="message-stats muted small" data-testid="reply-stats">
      {stats.timeToFirstTokenMs !== undefined
        ? `first token ${stats.timeToFirstTokenMs.toFixed(0)} ms · `
        : ""}
      {stats.tokens} tokens
      {stats.tokensPerSecond !== undefined ? ` · ${formatRate(stats.tokensPerSecond)} tok/s` : ""}
      {` · ${stats.ending}`}
    </div>
  );
}
