/**
 * The engine the server drives: one loaded model (backend), its memory store and encoder, and the
 * operations the API offers on them. Engine calls run one at a time (a queue), so a memory import
 * never races a generation on the same model.
 */

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import {
  configEncoderOptions,
  createMemoryEncoder,
  encodeMemories,
  type GenerationEvent,
  generate,
  type InferenceBackend,
  isMnemoError,
  loadModelConfig,
  type MemoryEncoder,
  type MemoryRecord,
  type MemoryStore,
  type StoredMemory,
} from "@mnemo/core";
import { openHnswStore } from "@mnemo/store-hnsw";
import { HTTPException } from "hono/http-exception";
import type {
  ApiErrorBody,
  BackendKind,
  ImportEvent,
  LineError,
  LoadedInfo,
  LoadProgress,
  MemoryView,
  ModelsResponse,
  Offer,
  SearchHit,
  StatusResponse,
  StoreKind,
  ValueKind,
  WireEvent,
} from "../shared/api.js";
import type { PlaygroundConfig } from "./config.js";
import { listModels, resolveModel } from "./models.js";
import type { GenerateBody, MemoryInputBody } from "./schemas.js";

/** An error with an HTTP status, for the API to answer with. */
export class ApiError extends Error {
  /**
   * @param status HTTP status
   * @param code stable error code
   */
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 500,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Maps any thrown value to an HTTP status and an error body. */
export function toApiError(error: unknown): { status: ApiError["status"]; body: ApiErrorBody } {
  if (error instanceof ApiError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  }
  if (isMnemoError(error)) {
    const clientSide = [
      "INVALID_INPUT",
      "INVALID_OPTION",
      "DIMENSION_MISMATCH",
      "CONTEXT_OVERFLOW",
      "NO_MEMORY",
      "STORE_MISMATCH",
      "MODEL_NOT_FOUND",
      "MODEL_INVALID",
    ];
    return {
      status: clientSide.includes(error.code) ? 400 : 500,
      body: { error: { code: error.code, message: error.message } },
    };
  }
  // Hono's own client errors (e.g. "Malformed JSON in request body" from the JSON validator).
  if (error instanceof HTTPException && error.status >= 400 && error.status < 500) {
    return {
      status: 400,
      body: { error: { code: "INVALID_INPUT", message: `${error.message}: send a JSON body.` } },
    };
  }
  if (error instanceof Error && (error as { code?: unknown }).code === "MODEL_NOT_FOUND") {
    return { status: 404, body: { error: { code: "MODEL_NOT_FOUND", message: error.message } } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: { code: "INTERNAL", message } } };
}

interface Loaded {
  backend: InferenceBackend;
  store: MemoryStore;
  encoder: MemoryEncoder;
  info: LoadedInfo;
}

function view(memory: StoredMemory, embeddingWidth: number): MemoryView {
  return {
    id: memory.id,
    namespace: memory.namespace,
    ...(memory.text === undefined ? {} : { text: memory.text }),
    metadata: memory.metadata,
    vectors: Math.max(1, Math.round(memory.value.length / embeddingWidth)),
  };
}

/** Converts a generation event to its JSON form (query vector as numbers, errors as code + message). */
export function toWire(event: GenerationEvent): WireEvent {
  switch (event.type) {
    case "recall-start":
      return { ...event, query: Array.from(event.query) };
    case "error":
      return { type: "error", error: { code: event.error.code, message: event.error.message } };
    default:
      return event as WireEvent;
  }
}

/** Options of {@link PlaygroundEngine.load}. */
export interface LoadRequest {
  /** Model id from the models folder listing. */
  model: string;
  /** Which store to open. */
  store: StoreKind;
  /** How memory values are made; default: the model's config file, else "mean-embedding". */
  value?: ValueKind | undefined;
}

/** One loaded model with its store, and the operations the API offers. */
export class PlaygroundEngine {
  private loaded: Loaded | undefined;
  private state: StatusResponse["state"] = "idle";
  private progress: LoadProgress | undefined;
  private lastError: ApiErrorBody["error"] | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly generations = new Map<string, AbortController>();
  private onnxAvailable: Promise<Offer<BackendKind>> | undefined;

  /** @param config the server's configuration (models folder, data folder, Qdrant URL, threads) */
  constructor(readonly config: PlaygroundConfig) {}

  /** Runs `task` after every earlier engine task has settled. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private need(): Loaded {
    if (!this.loaded) {
      throw new ApiError(
        409,
        "NOT_LOADED",
        "No model is loaded; pick one under Model and load it.",
      );
    }
    return this.loaded;
  }

  /** What is loaded, or loading. */
  status(): StatusResponse {
    return {
      state: this.state,
      ...(this.progress && this.state === "loading" ? { progress: this.progress } : {}),
      ...(this.loaded && this.state === "ready" ? { loaded: this.loaded.info } : {}),
      ...(this.lastError && this.state === "error" ? { error: this.lastError } : {}),
      generating: this.generations.size > 0,
    };
  }

  /** The models folder's models, and which backends and stores can be used. */
  async models(): Promise<ModelsResponse> {
    this.onnxAvailable ??= import("@mnemo/backend-onnx").then(
      () => ({ id: "onnx", label: "ONNX Runtime", available: true }),
      (e: unknown) => ({
        id: "onnx",
        label: "ONNX Runtime",
        available: false,
        reason: `@mnemo/backend-onnx cannot be loaded: ${(e as Error).message}`,
      }),
    );
    return {
      modelsDir: this.config.modelsDir,
      models: await listModels(this.config.modelsDir),
      backends: [{ id: "llamacpp", label: "llama.cpp", available: true }, await this.onnxAvailable],
      stores: [
        { id: "hnsw", label: "HNSW + SQLite (embedded)", available: true },
        this.config.qdrantUrl
          ? { id: "qdrant", label: `Qdrant (${this.config.qdrantUrl})`, available: true }
          : {
              id: "qdrant",
              label: "Qdrant",
              available: false,
              reason: "start the server with --qdrant-url URL (or MNEMO_QDRANT_URL) to use Qdrant",
            },
      ],
    };
  }

  /**
   * Loads a model and opens its store, replacing what was loaded (running generations are stopped).
   * @param onProgress called at each phase
   */
  async load(request: LoadRequest, onProgress: (p: LoadProgress) => void): Promise<LoadedInfo> {
    // An unknown model is refused before anything loaded is touched.
    await resolveModel(this.config.modelsDir, request.model);
    for (const controller of this.generations.values()) controller.abort();
    return this.exclusive(async () => {
      const report = (p: LoadProgress) => {
        this.progress = p;
        onProgress(p);
      };
      this.state = "loading";
      this.lastError = undefined;
      try {
        const { path, entry } = await resolveModel(this.config.modelsDir, request.model);
        await this.unload();
        report({
          phase: "model",
          fraction: 0.05,
          message: `Loading ${entry.id} (${entry.backend})…`,
        });
        const backend = await this.openBackend(entry.backend, path);
        let store: MemoryStore | undefined;
        try {
          report({ phase: "store", fraction: 0.7, message: `Opening the ${request.store} store…` });
          const { store: opened, location } = await this.openStore(
            request.store,
            entry.id,
            backend,
          );
          store = opened;
          report({ phase: "encoder", fraction: 0.9, message: "Preparing the memory encoder…" });
          // A model trained for recall says how its memories must be encoded (<model>.json, or
          // model.json in its folder).
          const config = await loadModelConfig(path);
          const encoder = createMemoryEncoder(backend, {
            ...configEncoderOptions(config?.encoder, request.value),
            ...(request.value ? { value: request.value } : {}),
          });
          const { info } = backend;
          const loadedInfo: LoadedInfo = {
            model: entry.id,
            backend: entry.backend,
            store: request.store,
            storeLocation: location,
            value: encoder.options.value,
            valueVectors:
              encoder.options.value === "hidden-state" ? encoder.options.valueVectors : 1,
            info: {
              name: info.name,
              architecture: info.architecture,
              identity: info.identity,
              vocabSize: info.vocabSize,
              hiddenWidth: info.hiddenWidth,
              embeddingWidth: info.embeddingWidth,
              contextSize: info.contextSize,
            },
          };
          this.loaded = { backend, store, encoder, info: loadedInfo };
          this.state = "ready";
          report({ phase: "ready", fraction: 1, message: "Ready." });
          return loadedInfo;
        } catch (error) {
          await store?.close().catch(() => undefined);
          await backend.dispose().catch(() => undefined);
          throw error;
        }
      } catch (error) {
        this.state = "error";
        this.lastError = toApiError(error).body.error;
        throw error;
      }
    });
  }

  private async openBackend(kind: BackendKind, modelPath: string): Promise<InferenceBackend> {
    const { threads, contextSize } = this.config;
    const common = {
      modelPath,
      ...(threads === undefined ? {} : { threads }),
      ...(contextSize === undefined ? {} : { contextSize }),
    };
    if (kind === "llamacpp") return loadLlamaCppBackend(common);
    let onnx: typeof import("@mnemo/backend-onnx");
    try {
      onnx = await import("@mnemo/backend-onnx");
    } catch (e) {
      throw new ApiError(
        400,
        "BACKEND_UNAVAILABLE",
        `The ONNX backend cannot be loaded: ${(e as Error).message}`,
      );
    }
    return onnx.loadOnnxBackend(common);
  }

  private async openStore(
    kind: StoreKind,
    modelId: string,
    backend: InferenceBackend,
  ): Promise<{ store: MemoryStore; location: string }> {
    const dimensions = {
      keyWidth: backend.info.hiddenWidth,
      valueWidth: backend.info.embeddingWidth,
    };
    const folder = modelId.replace(/\.(gguf|mnemo\.onnx)$/i, "").replace(/[^A-Za-z0-9._-]+/g, "_");
    if (kind === "hnsw") {
      const path = join(this.config.dataDir, "stores", folder);
      await mkdir(path, { recursive: true });
      const store = await openHnswStore({
        path,
        dimensions,
        modelIdentity: backend.info.identity,
        autoFlushMs: 2000,
      });
      return { store, location: path };
    }
    if (!this.config.qdrantUrl) {
      throw new ApiError(
        400,
        "STORE_UNAVAILABLE",
        "Qdrant is not configured; start the server with --qdrant-url URL.",
      );
    }
    let qdrant: typeof import("@mnemo/store-qdrant");
    try {
      qdrant = await import("@mnemo/store-qdrant");
    } catch (e) {
      throw new ApiError(
        400,
        "STORE_UNAVAILABLE",
        `The Qdrant store cannot be loaded: ${(e as Error).message}`,
      );
    }
    const collection = `mnemo_playground_${folder}`.slice(0, 200);
    const store = await qdrant.openQdrantStore({
      url: this.config.qdrantUrl,
      ...(this.config.qdrantApiKey ? { apiKey: this.config.qdrantApiKey } : {}),
      collection,
      dimensions,
    });
    return { store, location: `${this.config.qdrantUrl} (collection ${collection})` };
  }

  private async unload(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    if (!loaded) return;
    await loaded.encoder.dispose().catch(() => undefined);
    await loaded.store.close().catch(() => undefined);
    await loaded.backend.dispose().catch(() => undefined);
  }

  /** Namespaces with their memory counts. */
  namespaces(): Promise<{ name: string; count: number }[]> {
    return this.exclusive(async () => {
      const { store } = this.need();
      const names = await store.namespaces();
      return Promise.all(names.map(async (name) => ({ name, count: await store.count(name) })));
    });
  }

  /** Memories of one namespace, ordered by id. */
  list(
    namespace: string,
    limit: number,
    offset: number,
  ): Promise<{ memories: MemoryView[]; total: number }> {
    return this.exclusive(async () => {
      const { store, backend } = this.need();
      const rows = await store.list({ namespace, limit, offset });
      return {
        memories: rows.map((m) => view(m, backend.info.embeddingWidth)),
        total: await store.count(namespace),
      };
    });
  }

  /** Encodes and stores one memory. */
  add(input: MemoryInputBody): Promise<MemoryView> {
    return this.exclusive(async () => {
      const { store, encoder, backend } = this.need();
      const [record] = await encodeMemories(encoder, [input]);
      if (!record) throw new ApiError(500, "INTERNAL", "The encoder returned nothing.");
      await store.upsert([record]);
      const [stored] = await store.get([record.id], record.namespace ?? "default");
      if (!stored) throw new ApiError(500, "INTERNAL", "The memory was not stored.");
      return view(stored, backend.info.embeddingWidth);
    });
  }

  /** Deletes one memory; false if it did not exist. */
  delete(namespace: string, id: string): Promise<boolean> {
    return this.exclusive(async () => (await this.need().store.delete([id], namespace)) > 0);
  }

  /** Encodes `text` like a memory key and returns the nearest memories by cosine similarity. */
  search(text: string, namespace: string, topK: number): Promise<SearchHit[]> {
    return this.exclusive(async () => {
      const { store, encoder, backend } = this.need();
      const { key } = await encoder.encode(text);
      const hits = await store.search(key, { topK, namespace });
      return hits.map((h) => ({
        memory: view(h.memory, backend.info.embeddingWidth),
        score: h.score,
      }));
    });
  }

  /**
   * Imports parsed JSONL lines: each is encoded on its own (a line the model cannot encode becomes a
   * line error), then stored in batches. Reports progress through `emit`.
   */
  import(
    inputs: { line: number; input: MemoryInputBody }[],
    lineErrors: LineError[],
    emit: (event: ImportEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return this.exclusive(async () => {
      const { store, encoder } = this.need();
      const errors = [...lineErrors];
      emit({ type: "parsed", total: inputs.length, errors: lineErrors });
      let imported = 0;
      let done = 0;
      const BATCH = 32;
      for (let i = 0; i < inputs.length; i += BATCH) {
        if (signal.aborted) break;
        const records: MemoryRecord[] = [];
        for (const { line, input } of inputs.slice(i, i + BATCH)) {
          try {
            const [record] = await encodeMemories(encoder, [input]);
            if (record) records.push(record);
          } catch (error) {
            errors.push({ line, message: toApiError(error).body.error.message });
          }
          done++;
        }
        await store.upsert(records);
        imported += records.length;
        emit({ type: "progress", done, total: inputs.length });
      }
      errors.sort((a, b) => a.line - b.line);
      emit({ type: "done", imported, errors });
    });
  }

  /**
   * Runs one generation and passes its events (in JSON form) to `emit`. At most one runs at a time.
   * @param id the generation's id (for {@link stop})
   * @param signal aborts the generation (the client went away)
   */
  async generate(
    id: string,
    body: GenerateBody,
    seed: number,
    emit: (event: WireEvent) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    if (this.generations.size > 0) {
      throw new ApiError(409, "BUSY", "A generation is running; stop it or wait for it to finish.");
    }
    this.need();
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener("abort", abort, { once: true });
    this.generations.set(id, controller);
    try {
      await this.exclusive(async () => {
        const { backend, store } = this.need();
        const { recall, sampling } = body;
        const events = generate({
          backend,
          store,
          prompt: body.prompt,
          recall: recall.enabled
            ? {
                trigger: recall.trigger,
                topK: recall.topK,
                temperature: recall.temperature,
                topP: recall.topP,
                minScore: recall.minScore,
                maxRecalls: recall.maxRecalls,
                namespace: recall.namespace,
              }
            : false,
          sampling,
          maxTokens: body.maxTokens,
          seed,
          signal: controller.signal,
        });
        for await (const event of events) await emit(toWire(event));
      });
    } catch (error) {
      const { body: errorBody } = toApiError(error);
      await emit({ type: "error", error: errorBody.error });
    } finally {
      signal.removeEventListener("abort", abort);
      this.generations.delete(id);
    }
  }

  /** Stops a running generation; false if there is none with this id. */
  stop(id: string): boolean {
    const controller = this.generations.get(id);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  /** Stops generations and frees the model and the store. */
  async dispose(): Promise<void> {
    for (const controller of this.generations.values()) controller.abort();
    await this.exclusive(() => this.unload());
    this.state = "idle";
  }
}
