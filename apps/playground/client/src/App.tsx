import { useCallback, useEffect, useState } from "react";
import type { StatusResponse } from "../../src/shared/api.js";
import { request } from "./api.js";
import { ChatView } from "./components/ChatView.js";
import { MemoriesView } from "./components/MemoriesView.js";
import { ModelView } from "./components/ModelView.js";

type Tab = "chat" | "memories" | "model";

const TABS: { id: Tab; label: string }[] = [
  { id: "chat", label: "Chat" },
  { id: "memories", label: "Memories" },
  { id: "model", label: "Model" },
];

/** The whole app: a header with tabs and the loaded model, and the selected view. */
export function App() {
  const [tab, setTab] = useState<Tab>("model");
  const [status, setStatus] = useState<StatusResponse | undefined>();

  const refresh = useCallback(async () => {
    try {
      setStatus(await request<StatusResponse>("GET", "/api/status"));
    } catch {
      // The header shows the last known status.
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const loaded = status?.loaded;
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="logo">◆</span> mnemo <span className="muted">playground</span>
        </div>
        <nav className="tabs" aria-label="Views">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              className={tab === t.id ? "tab active" : "tab"}
              aria-current={tab === t.id ? "page" : undefined}
              onClick={() => setTab(t.id)}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <div className="status" data-testid="status">
          {status?.state === "ready" && loaded ? (
            <>
              <span className="dot ok" /> {loaded.model} · {loaded.backend} · {loaded.store}
            </>
          ) : status?.state === "loading" ? (
            <>
              <span className="dot busy" /> loading…
            </>
          ) : (
            <>
              <span className="dot" /> no model loaded
            </>
          )}
        </div>
      </header>
      <main className="content">
        <div hidden={tab !== "model"}>
          <ModelView status={status} onChanged={refresh} />
        </div>
        <div hidden={tab !== "memories"}>
          <MemoriesView ready={status?.state === "ready"} loadedKey={loaded?.info.identity} />
        </div>
        <div hidden={tab !== "chat"}>
          <ChatView ready={status?.state === "ready"} loaded={loaded} />
        </div>
      </main>
    </div>
  );
}
