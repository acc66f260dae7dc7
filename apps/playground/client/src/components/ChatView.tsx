import { useEffect, useRef, useState } from "react";
import type { GenerateRequest, LoadedInfo, WireEvent } from "../../../src/shared/api.js";
import { messageOf, request, stream } from "../api.js";
import { RecallDetails, type RecallRecord } from "./RecallDetails.js";
import { type ChatSettings, DEFAULT_CHAT_SETTINGS, Settings } from "./Settings.js";

type Segment = { kind: "text"; text: string } | { kind: "recall"; recall: number };

interface Turn {
  number: number;
  prompt: string;
  request: GenerateRequest;
  seed?: number;
  sessionId?: string;
  segments: Segment[];
  recalls: RecallRecord[];
  events: WireEvent[];
  state: "running" | "stopping" | "done" | "error";
  finishReason?: string;
  error?: string;
  usage?: {
    promptTokens: number;
    completionTokens: number;
    injectedVectors: number;
    kvPositions: number;
  };
}

function norm(v: number[]): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** Applies one event to a turn (returns a new turn). */
function apply(turn: Turn, event: WireEvent): Turn {
  const t: Turn = { ...turn, events: [...turn.events, event] };
  const appendText = (text: string) => {
    if (!text) return;
    const last = t.segments[t.segments.length - 1];
    t.segments =
      last?.kind === "text"
        ? [...t.segments.slice(0, -1), { kind: "text", text: last.text + text }]
        : [...t.segments, { kind: "text", text }];
  };
  const updateRecall = (position: number, patch: Partial<RecallRecord>) => {
    const i = t.recalls.findLastIndex((r) => r.position === position);
    if (i === -1) return;
    t.recalls = t.recalls.map((r, j) => (j === i ? { ...r, ...patch } : r));
  };
  switch (event.type) {
    case "session":
      t.seed = event.seed;
      t.sessionId = event.id;
      break;
    case "token":
    case "text":
      appendText(event.text);
      break;
    case "recall-start": {
      const index = t.recalls.length;
      t.recalls = [
        ...t.recalls,
        {
          index: index + 1,
          position: event.position,
          kvPosition: event.kvPosition,
          queryNorm: norm(event.query),
          candidates: [],
        },
      ];
      t.segments = [...t.segments, { kind: "recall", recall: index }];
      break;
    }
    case "recall-candidates":
      updateRecall(event.position, { candidates: event.candidates, chosen: event.chosen });
      break;
    case "recall-skipped":
      updateRecall(event.position, { candidates: event.candidates, skipped: event.reason });
      break;
    case "memory-injected":
      updateRecall(event.injection.position, { injection: event.injection });
      break;
    case "finish":
      t.state = "done";
      t.finishReason = event.finishReason;
      t.usage = event.usage;
      break;
    case "error":
      t.state = "error";
      t.error = `${event.error.message} [${event.error.code}]`;
      break;
    default:
      break;
  }
  return t;
}

function Marker(props: { recall: RecallRecord; onOpen: () => void }) {
  const { recall } = props;
  const chosen = recall.chosen === undefined ? undefined : recall.candidates[recall.chosen];
  const label = recall.skipped
    ? "no memory"
    : chosen
      ? `${chosen.memoryId} · ${chosen.score.toFixed(2)}`
      : "recalling…";
  return (
    <button
      type="button"
      className={recall.skipped ? "marker skipped" : "marker"}
      data-testid="recall-marker"
      title={`Recall #${recall.index} at position ${recall.position}: open the candidates`}
      onClick={props.onOpen}
    >
      <span className="marker-icon" aria-hidden="true">
        ◆
      </span>
      {label}
    </button>
  );
}

/** The chat: streaming tokens with inline recall markers, settings, the recall trace, export. */
export function ChatView(props: { ready: boolean; loaded: LoadedInfo | undefined }) {
  const [settings, setSettings] = useState<ChatSettings>(DEFAULT_CHAT_SETTINGS);
  const [prompt, setPrompt] = useState("Let me recall<recall>");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [open, setOpen] = useState<{ turn: number; recall: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const abortRef = useRef<AbortController | undefined>(undefined);
  const endRef = useRef<HTMLDivElement>(null);

  const running = turns.some((t) => t.state === "running" || t.state === "stopping");

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when the conversation grows
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [turns.length, turns[turns.length - 1]?.events.length]);

  const update = (number: number, f: (t: Turn) => Turn) =>
    setTurns((all) => all.map((t) => (t.number === number ? f(t) : t)));

  async function send() {
    setError(undefined);
    const seed = settings.seed === "" ? undefined : Number(settings.seed);
    const body: GenerateRequest = {
      prompt,
      recall: settings.recall,
      sampling: settings.sampling,
      maxTokens: settings.maxTokens,
      ...(seed === undefined ? {} : { seed }),
    };
    const number = (turns[turns.length - 1]?.number ?? 0) + 1;
    setTurns((all) => [
      ...all,
      { number, prompt, request: body, segments: [], recalls: [], events: [], state: "running" },
    ]);
    const controller = new AbortController();
    abortRef.current = controller;
    try {
      await stream<WireEvent>(
        "/api/generate",
        { body: JSON.stringify(body), contentType: "application/json", signal: controller.signal },
        (event) => update(number, (t) => apply(t, event)),
      );
      update(number, (t) =>
        t.state === "running" || t.state === "stopping" ? { ...t, state: "done" } : t,
      );
    } catch (e) {
      if (controller.signal.aborted) {
        update(number, (t) => ({ ...t, state: "done", finishReason: t.finishReason ?? "aborted" }));
      } else {
        update(number, (t) => ({ ...t, state: "error", error: messageOf(e) }));
      }
    } finally {
      abortRef.current = undefined;
    }
  }

  async function stop() {
    const turn = turns.find((t) => t.state === "running");
    if (!turn) return;
    update(turn.number, (t) => ({ ...t, state: "stopping" }));
    try {
      if (!turn.sessionId) throw new Error("no session yet");
      await request("POST", `/api/generations/${turn.sessionId}/stop`);
    } catch {
      abortRef.current?.abort();
    }
  }

  function exportTrace() {
    const trace = {
      exportedAt: new Date().toISOString(),
      model: props.loaded ?? null,
      turns: turns.map((t) => ({
        turn: t.number,
        prompt: t.prompt,
        request: t.request,
        seed: t.seed,
        state: t.state,
        finishReason: t.finishReason,
        error: t.error,
        events: t.events,
      })),
    };
    const blob = new Blob([JSON.stringify(trace, null, 2)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `mnemo-trace-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  const openTurn = open ? turns.find((t) => t.number === open.turn) : undefined;
  const openRecall = openTurn?.recalls[open?.recall ?? -1];
  const trace = turns.flatMap((t) => t.recalls.map((r, i) => ({ turn: t.number, i, r })));

  return (
    <section className="view chat-view">
      <aside className="column side-left">
        <Settings value={settings} onChange={setSettings} disabled={running} />
      </aside>

      <div className="column center">
        <div className="card conversation" data-testid="conversation">
          {turns.length === 0 && (
            <p className="muted">
              Write a prompt below. Where the trigger (<code>{settings.recall.trigger}</code>) ends
              the input, the model's hidden state searches the memories and the chosen memory is
              injected as an embedding; a marker shows where.
            </p>
          )}
          {turns.map((t) => (
            <div key={t.number} className="turn" data-testid="turn">
              <div className="prompt">
                <span className="who">you</span>
                <span className="mono">{t.prompt}</span>
              </div>
              <div className="answer" data-testid="answer">
                <span className="who">model</span>
                <span className="output">
                  {t.segments.map((s, i) =>
                    s.kind === "text" ? (
                      // biome-ignore lint/suspicious/noArrayIndexKey: segments only ever grow at the end
                      <span key={i}>{s.text}</span>
                    ) : (
                      <Marker
                        // biome-ignore lint/suspicious/noArrayIndexKey: segments only ever grow at the end
                        key={i}
                        recall={t.recalls[s.recall] as RecallRecord}
                        onOpen={() => setOpen({ turn: t.number, recall: s.recall })}
                      />
                    ),
                  )}
                  {(t.state === "running" || t.state === "stopping") && (
                    <span className="cursor">▍</span>
                  )}
                </span>
              </div>
              <div className="meta" data-testid="turn-meta">
                {t.state === "running" && "generating…"}
                {t.state === "stopping" && "stopping…"}
                {t.state === "done" && (
                  <span data-testid="finish-reason" data-reason={t.finishReason}>
                    finished: {t.finishReason}
                    {t.usage &&
                      ` · ${t.usage.promptTokens} prompt + ${t.usage.completionTokens} generated tokens, ${t.usage.injectedVectors} injected vector(s)`}
                    {t.seed !== undefined && ` · seed ${t.seed}`}
                  </span>
                )}
                {t.state === "error" && (
                  <span className="error" role="alert">
                    {t.error}
                  </span>
                )}
              </div>
            </div>
          ))}
          <div ref={endRef} />
        </div>
        <form
          className="card composer"
          onSubmit={(e) => {
            e.preventDefault();
            if (!running && props.ready && prompt) void send();
          }}
        >
          <textarea
            data-testid="prompt"
            rows={3}
            value={prompt}
            onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey))
                e.currentTarget.form?.requestSubmit();
            }}
            placeholder="Type a prompt; end it with <recall> to recall a memory there."
          />
          <div className="row spread">
            <div className="row">
              <button
                type="button"
                onClick={() => setPrompt((p) => `${p}${settings.recall.trigger}`)}
              >
                + {settings.recall.trigger}
              </button>
              <button
                type="button"
                data-testid="export"
                disabled={turns.length === 0}
                onClick={exportTrace}
              >
                Export trace (JSON)
              </button>
              <button
                type="button"
                disabled={running || turns.length === 0}
                onClick={() => setTurns([])}
              >
                Clear
              </button>
            </div>
            <div className="row">
              {!props.ready && <span className="muted">Load a model first.</span>}
              {running ? (
                <button
                  type="button"
                  className="danger"
                  data-testid="stop"
                  onClick={() => void stop()}
                >
                  ■ Stop
                </button>
              ) : (
                <button
                  type="submit"
                  className="primary"
                  data-testid="send"
                  disabled={!props.ready || !prompt}
                >
                  Send ⏎
                </button>
              )}
            </div>
          </div>
          {error && <p className="error">{error}</p>}
        </form>
      </div>

      <aside className="column side-right">
        <div className="card trace" data-testid="recall-trace">
          <h2>Recall trace</h2>
          {trace.length === 0 ? (
            <p className="muted">No recalls yet.</p>
          ) : (
            <table className="table compact">
              <thead>
                <tr>
                  <th>turn</th>
                  <th>pos</th>
                  <th>score</th>
                  <th>memory id</th>
                </tr>
              </thead>
              <tbody>
                {trace.map(({ turn, i, r }) => {
                  const c = r.chosen === undefined ? undefined : r.candidates[r.chosen];
                  return (
                    <tr
                      key={`${turn}-${i}`}
                      className="clickable"
                      data-testid="trace-row"
                      onClick={() => setOpen({ turn, recall: i })}
                    >
                      <td>{turn}</td>
                      <td className="num">{r.position}</td>
                      <td className="num">
                        {r.injection ? r.injection.score.toFixed(4) : (c?.score.toFixed(4) ?? "—")}
                      </td>
                      <td className="mono">
                        {r.skipped ? <em>skipped: {r.skipped}</em> : (c?.memoryId ?? "…")}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </div>
      </aside>

      {openRecall && openTurn && (
        <RecallDetails
          recall={openRecall}
          turn={openTurn.number}
          onClose={() => setOpen(undefined)}
        />
      )}
    </section>
  );
}
