import { useEffect, useState } from "react";
import type {
  LoadEvent,
  LoadProgress,
  ModelsResponse,
  StatusResponse,
  StoreKind,
  ValueKind,
} from "../../../src/shared/api.js";
import { messageOf, request, stream } from "../api.js";

function size(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024).toFixed(0)} KB`;
}

/** Picking a model, a backend and a store, and loading them with progress. */
export function ModelView(props: {
  status: StatusResponse | undefined;
  onChanged: () => Promise<void>;
}) {
  const [models, setModels] = useState<ModelsResponse | undefined>();
  const [model, setModel] = useState("");
  const [store, setStore] = useState<StoreKind>("hnsw");
  // "" = the model's config file decides (a recall-trained model ships one), else mean-embedding.
  const [value, setValue] = useState<ValueKind | "">("");
  const [progress, setProgress] = useState<LoadProgress | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    request<ModelsResponse>("GET", "/api/models").then(
      (m) => {
        setModels(m);
        setModel(
          (current) =>
            current || m.models.find((x) => x.backend === "llamacpp")?.id || m.models[0]?.id || "",
        );
      },
      (e: unknown) => setError(messageOf(e)),
    );
  }, []);

  const entry = models?.models.find((m) => m.id === model);
  const backendOffer = models?.backends.find((b) => b.id === entry?.backend);

  async function load() {
    setBusy(true);
    setError(undefined);
    setProgress({ phase: "model", fraction: 0, message: "Starting…" });
    try {
      await stream<LoadEvent>(
        "/api/load",
        {
          body: JSON.stringify({ model, store, ...(value ? { value } : {}) }),
          contentType: "application/json",
        },
        (event) => {
          if (event.type === "progress") setProgress(event.progress);
          else if (event.type === "error") setError(`${event.error.message} [${event.error.code}]`);
        },
      );
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
      await props.onChanged();
    }
  }

  const loaded = props.status?.loaded;
  return (
    <section className="view model-view">
      <div className="card">
        <h2>Model, backend and store</h2>
        <p className="muted">
          Models come from <code>{models?.modelsDir ?? "…"}</code>: <code>*.gguf</code> files run on
          llama.cpp, <code>*/*.mnemo.onnx</code> on ONNX Runtime. Nothing outside that folder can be
          opened.
        </p>
        <div className="form-grid">
          <label>
            Model
            <select
              data-testid="model-select"
              value={model}
              onChange={(e) => setModel(e.target.value)}
            >
              {models?.models.length === 0 && <option value="">(no models in the folder)</option>}
              {models?.models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id} — {size(m.sizeBytes)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Backend
            <select value={entry?.backend ?? ""} disabled>
              {models?.backends.map((b) => (
                <option key={b.id} value={b.id} disabled={!b.available}>
                  {b.label}
                  {b.available ? "" : " (unavailable)"}
                </option>
              ))}
            </select>
          </label>
          <label>
            Store
            <select
              data-testid="store-select"
              value={store}
              onChange={(e) => setStore(e.target.value as StoreKind)}
            >
              {models?.stores.map((s) => (
                <option key={s.id} value={s.id} disabled={!s.available} title={s.reason}>
                  {s.label}
                  {s.available ? "" : " (not configured)"}
                </option>
              ))}
            </select>
          </label>
          <label>
            Memory values
            <select value={value} onChange={(e) => setValue(e.target.value as ValueKind | "")}>
              <option value="">model default (its config file, else mean-embedding)</option>
              <option value="mean-embedding">mean-embedding (1 vector)</option>
              <option value="token-embeddings">token-embeddings (1 per token)</option>
              <option value="hidden-state">hidden-state (1 vector)</option>
            </select>
          </label>
        </div>
        {backendOffer && !backendOffer.available && <p className="error">{backendOffer.reason}</p>}
        <div className="row">
          <button
            type="button"
            className="primary"
            data-testid="load-model"
            disabled={busy || !model || backendOffer?.available === false}
            onClick={() => void load()}
          >
            {busy ? "Loading…" : "Load"}
          </button>
          {progress && (
            <div className="progress" data-testid="load-progress">
              <div className="bar">
                <div
                  className="fill"
                  style={{ width: `${Math.round(progress.fraction * 100)}%` }}
                />
              </div>
              <span>{progress.message}</span>
            </div>
          )}
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </div>
      {loaded && (
        <div className="card" data-testid="loaded-info">
          <h2>Loaded</h2>
          <dl className="facts">
            <dt>model</dt>
            <dd>
              {loaded.model} ({loaded.info.name}, {loaded.info.architecture})
            </dd>
            <dt>backend</dt>
            <dd>{loaded.backend}</dd>
            <dt>store</dt>
            <dd>
              {loaded.store} — <code>{loaded.storeLocation}</code>
            </dd>
            <dt>values</dt>
            <dd>
              {loaded.value}
              {loaded.value === "hidden-state"
                ? ` · ${loaded.valueVectors} vector${loaded.valueVectors === 1 ? "" : "s"} per memory`
                : ""}
            </dd>
            <dt>widths</dt>
            <dd>
              hidden {loaded.info.hiddenWidth} · embedding {loaded.info.embeddingWidth} · vocab{" "}
              {loaded.info.vocabSize} · context {loaded.info.contextSize}
            </dd>
            <dt>identity</dt>
            <dd>
              <code>{loaded.info.identity}</code>
            </dd>
          </dl>
        </div>
      )}
    </section>
  );
}
