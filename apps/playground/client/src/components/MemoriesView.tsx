import { type FormEvent, useCallback, useEffect, useState } from "react";
import type {
  ImportEvent,
  LineError,
  MemoriesResponse,
  MemoryView,
  NamespacesResponse,
  SearchHit,
} from "../../../src/shared/api.js";
import { messageOf, request, stream } from "../api.js";

function Metadata(props: { metadata: MemoryView["metadata"] }) {
  const entries = Object.entries(props.metadata);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <span className="chips">
      {entries.map(([k, v]) => (
        <span key={k} className="chip">
          {k}: {JSON.stringify(v)}
        </span>
      ))}
    </span>
  );
}

/** Adding, importing, listing, searching and deleting memories. */
export function MemoriesView(props: { ready: boolean; loadedKey: string | undefined }) {
  const [namespaces, setNamespaces] = useState<NamespacesResponse["namespaces"]>([]);
  const [namespace, setNamespace] = useState("default");
  const [list, setList] = useState<MemoriesResponse | undefined>();
  const [error, setError] = useState<string | undefined>();

  const [text, setText] = useState("");
  const [id, setId] = useState("");
  const [addNamespace, setAddNamespace] = useState("default");
  const [metadata, setMetadata] = useState("");
  const [addMessage, setAddMessage] = useState<string | undefined>();
  const [adding, setAdding] = useState(false);

  const [file, setFile] = useState<File | undefined>();
  const [importNamespace, setImportNamespace] = useState("");
  const [importProgress, setImportProgress] = useState<
    { done: number; total: number } | undefined
  >();
  const [importResult, setImportResult] = useState<
    { imported: number; errors: LineError[] } | undefined
  >();
  const [importing, setImporting] = useState(false);

  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHit[] | undefined>();

  const refresh = useCallback(async () => {
    if (!props.ready) return;
    try {
      const ns = await request<NamespacesResponse>("GET", "/api/namespaces");
      setNamespaces(ns.namespaces);
      setList(
        await request<MemoriesResponse>(
          "GET",
          `/api/memories?namespace=${encodeURIComponent(namespace)}&limit=200`,
        ),
      );
      setError(undefined);
    } catch (e) {
      setError(messageOf(e));
    }
  }, [props.ready, namespace]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when another model is loaded
  useEffect(() => {
    void refresh();
  }, [refresh, props.loadedKey]);

  async function add(event: FormEvent) {
    event.preventDefault();
    setAddMessage(undefined);
    let meta: Record<string, string | number | boolean | null> | undefined;
    if (metadata.trim()) {
      try {
        meta = JSON.parse(metadata);
      } catch {
        setAddMessage('Metadata must be a JSON object, e.g. {"topic": "family"}.');
        return;
      }
    }
    setAdding(true);
    try {
      const { memory } = await request<{ memory: MemoryView }>("POST", "/api/memories", {
        text,
        namespace: addNamespace || "default",
        ...(id.trim() ? { id: id.trim() } : {}),
        ...(meta ? { metadata: meta } : {}),
      });
      setAddMessage(`Added “${memory.id}” to ${memory.namespace}.`);
      setText("");
      setId("");
      setNamespace(memory.namespace);
      await refresh();
    } catch (e) {
      setAddMessage(messageOf(e));
    } finally {
      setAdding(false);
    }
  }

  async function runImport() {
    if (!file) return;
    setImporting(true);
    setImportResult(undefined);
    setImportProgress({ done: 0, total: 0 });
    setError(undefined);
    try {
      const body = await file.text();
      const query = importNamespace.trim()
        ? `?namespace=${encodeURIComponent(importNamespace.trim())}`
        : "";
      await stream<ImportEvent>(
        `/api/memories/import${query}`,
        { body, contentType: "application/x-ndjson" },
        (event) => {
          if (event.type === "parsed") setImportProgress({ done: 0, total: event.total });
          else if (event.type === "progress")
            setImportProgress({ done: event.done, total: event.total });
          else if (event.type === "done")
            setImportResult({ imported: event.imported, errors: event.errors });
          else if (event.type === "error") setError(`${event.error.message} [${event.error.code}]`);
        },
      );
      await refresh();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setImporting(false);
    }
  }

  async function remove(memory: MemoryView) {
    try {
      await request(
        "DELETE",
        `/api/memories?namespace=${encodeURIComponent(memory.namespace)}&id=${encodeURIComponent(memory.id)}`,
      );
      setHits((h) =>
        h?.filter((x) => !(x.memory.id === memory.id && x.memory.namespace === memory.namespace)),
      );
      await refresh();
    } catch (e) {
      setError(messageOf(e));
    }
  }

  async function search(event: FormEvent) {
    event.preventDefault();
    if (!query.trim()) {
      setHits(undefined);
      return;
    }
    try {
      const { hits } = await request<{ hits: SearchHit[] }>("POST", "/api/memories/search", {
        text: query,
        namespace,
        topK: 10,
      });
      setHits(hits);
    } catch (e) {
      setError(messageOf(e));
    }
  }

  if (!props.ready) {
    return (
      <section className="view">
        <div className="card">
          <p className="muted">Load a model first (Model tab): memories are encoded with it.</p>
        </div>
      </section>
    );
  }

  const rows: { memory: MemoryView; score?: number }[] =
    hits ?? list?.memories.map((memory) => ({ memory })) ?? [];
  const nsOptions = namespaces.some((n) => n.name === namespace)
    ? namespaces
    : [...namespaces, { name: namespace, count: 0 }];

  return (
    <section className="view memories-view">
      <div className="column narrow">
        <form className="card" onSubmit={(e) => void add(e)} data-testid="add-memory-form">
          <h2>Add a memory</h2>
          <label>
            Text
            <textarea
              data-testid="memory-text"
              rows={3}
              value={text}
              required
              onChange={(e) => setText(e.target.value)}
              placeholder="The user's birthday is 1 January 1990."
            />
          </label>
          <div className="form-grid two">
            <label>
              <span>
                Id <span className="muted">(optional)</span>
              </span>
              <input data-testid="memory-id" value={id} onChange={(e) => setId(e.target.value)} />
            </label>
            <label>
              Namespace
              <input value={addNamespace} onChange={(e) => setAddNamespace(e.target.value)} />
            </label>
          </div>
          <label>
            <span>
              Metadata <span className="muted">(JSON object, optional)</span>
            </span>
            <input
              data-testid="memory-metadata"
              value={metadata}
              onChange={(e) => setMetadata(e.target.value)}
              placeholder='{"topic": "family"}'
            />
          </label>
          <div className="row">
            <button
              type="submit"
              className="primary"
              data-testid="add-memory"
              disabled={adding || !text.trim()}
            >
              {adding ? "Encoding…" : "Add"}
            </button>
            {addMessage && <span data-testid="add-message">{addMessage}</span>}
          </div>
        </form>

        <div className="card">
          <h2>Import JSONL</h2>
          <p className="muted">
            One object per line:{" "}
            <code>{'{"text": "…", "id"?: "…", "namespace"?: "…", "metadata"?: {…}}'}</code>. Bad
            lines are reported; the others are imported.
          </p>
          <input
            type="file"
            data-testid="import-file"
            accept=".jsonl,.ndjson,.json,.txt"
            onChange={(e) => setFile(e.target.files?.[0])}
          />
          <label>
            <span>
              Namespace for lines without one <span className="muted">(optional)</span>
            </span>
            <input
              value={importNamespace}
              onChange={(e) => setImportNamespace(e.target.value)}
              placeholder="default"
            />
          </label>
          <div className="row">
            <button
              type="button"
              className="primary"
              data-testid="import-start"
              disabled={!file || importing}
              onClick={() => void runImport()}
            >
              {importing ? "Importing…" : "Import"}
            </button>
            {importProgress && (
              <div className="progress" data-testid="import-progress">
                <div className="bar">
                  <div
                    className="fill"
                    style={{
                      width: `${importProgress.total ? Math.round((importProgress.done / importProgress.total) * 100) : importing ? 0 : 100}%`,
                    }}
                  />
                </div>
                <span>
                  {importProgress.done}/{importProgress.total}
                </span>
              </div>
            )}
          </div>
          {importResult && (
            <div data-testid="import-result">
              <p className={importResult.errors.length ? "warn" : "ok"}>
                Imported {importResult.imported}{" "}
                {importResult.imported === 1 ? "memory" : "memories"}
                {importResult.errors.length
                  ? `; ${importResult.errors.length} line(s) skipped:`
                  : "."}
              </p>
              {importResult.errors.length > 0 && (
                <ul className="line-errors" data-testid="import-errors">
                  {importResult.errors.map((e) => (
                    <li key={e.line}>
                      <strong>line {e.line}:</strong> {e.message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </div>
      </div>

      <div className="column wide">
        <div className="card">
          <div className="row spread">
            <h2>Memories</h2>
            <label className="inline">
              Namespace
              <select
                data-testid="namespace-select"
                value={namespace}
                onChange={(e) => setNamespace(e.target.value)}
              >
                {nsOptions.map((n) => (
                  <option key={n.name} value={n.name}>
                    {n.name} ({n.count})
                  </option>
                ))}
              </select>
            </label>
          </div>
          <form className="row" onSubmit={(e) => void search(e)}>
            <input
              data-testid="search-text"
              className="grow"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              placeholder="Search by meaning (cosine similarity of keys)…"
            />
            <button type="submit">Search</button>
            {hits && (
              <button
                type="button"
                onClick={() => {
                  setHits(undefined);
                  setQuery("");
                }}
              >
                Clear
              </button>
            )}
          </form>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <table className="table" data-testid="memory-table">
            <thead>
              <tr>
                {hits && <th>score</th>}
                <th>id</th>
                <th>namespace</th>
                <th>text</th>
                <th>metadata</th>
                <th>vectors</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map(({ memory, score }) => (
                <tr key={`${memory.namespace}/${memory.id}`} data-testid="memory-row">
                  {hits && <td className="num">{score?.toFixed(4)}</td>}
                  <td className="mono">{memory.id}</td>
                  <td>{memory.namespace}</td>
                  <td className="text">{memory.text}</td>
                  <td>
                    <Metadata metadata={memory.metadata} />
                  </td>
                  <td className="num">{memory.vectors}</td>
                  <td>
                    <button
                      type="button"
                      className="danger small"
                      aria-label={`Delete ${memory.id}`}
                      onClick={() => void remove(memory)}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={7} className="muted">
                    {hits ? "No matches." : "No memories in this namespace yet."}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          {!hits && list && (
            <p className="muted">
              {list.total} {list.total === 1 ? "memory" : "memories"} in “{namespace}”
              {list.total > list.memories.length ? ` (first ${list.memories.length} shown)` : ""}.
            </p>
          )}
        </div>
      </div>
    </section>
  );
}
