import type { RecallSettings, SamplingSettings } from "../../../src/shared/api.js";
import {
  DEFAULT_MAX_TOKENS,
  DEFAULT_RECALL,
  DEFAULT_SAMPLING_SETTINGS,
} from "../../../src/shared/api.js";

/** Everything the settings panel edits. */
export interface ChatSettings {
  recall: RecallSettings;
  sampling: SamplingSettings;
  maxTokens: number;
  /** Empty: a random seed each time. */
  seed: string;
}

/** mnemo's defaults. */
export const DEFAULT_CHAT_SETTINGS: ChatSettings = {
  recall: DEFAULT_RECALL,
  sampling: DEFAULT_SAMPLING_SETTINGS,
  maxTokens: DEFAULT_MAX_TOKENS,
  seed: "",
};

function NumberField(props: {
  label: string;
  value: number;
  step: number;
  min?: number;
  max?: number;
  title: string;
  onChange: (v: number) => void;
}) {
  return (
    <label title={props.title}>
      {props.label}
      <input
        type="number"
        value={Number.isNaN(props.value) ? "" : props.value}
        step={props.step}
        min={props.min}
        max={props.max}
        onChange={(e) => props.onChange(e.target.valueAsNumber)}
      />
    </label>
  );
}

/** The recall policy and token sampling settings. */
export function Settings(props: {
  value: ChatSettings;
  onChange: (s: ChatSettings) => void;
  disabled: boolean;
}) {
  const { recall, sampling } = props.value;
  const setRecall = (patch: Partial<RecallSettings>) =>
    props.onChange({ ...props.value, recall: { ...recall, ...patch } });
  const setSampling = (patch: Partial<SamplingSettings>) =>
    props.onChange({ ...props.value, sampling: { ...sampling, ...patch } });
  return (
    <fieldset className="card settings" disabled={props.disabled} data-testid="settings">
      <h2>Recall policy</h2>
      <label className="check">
        <input
          type="checkbox"
          checked={recall.enabled}
          onChange={(e) => setRecall({ enabled: e.target.checked })}
        />
        recall enabled
      </label>
      <label title="Token (e.g. <recall>) or text whose last token's hidden state is the query">
        Trigger
        <input value={recall.trigger} onChange={(e) => setRecall({ trigger: e.target.value })} />
      </label>
      <label title="Namespace searched">
        Namespace
        <input
          data-testid="recall-namespace"
          value={recall.namespace}
          onChange={(e) => setRecall({ namespace: e.target.value })}
        />
      </label>
      <div className="form-grid two">
        <NumberField
          label="top-k"
          title="Candidates returned by the store"
          value={recall.topK}
          step={1}
          min={1}
          max={100}
          onChange={(topK) => setRecall({ topK })}
        />
        <NumberField
          label="temperature"
          title="softmax(score / T) over cosine scores; 0 = best"
          value={recall.temperature}
          step={0.01}
          min={0}
          onChange={(temperature) => setRecall({ temperature })}
        />
        <NumberField
          label="top-p"
          title="Nucleus over candidate probabilities"
          value={recall.topP}
          step={0.05}
          min={0.01}
          max={1}
          onChange={(topP) => setRecall({ topP })}
        />
        <NumberField
          label="min score"
          title="Candidates below this cosine are ignored"
          value={recall.minScore}
          step={0.05}
          min={-1}
          max={1}
          onChange={(minScore) => setRecall({ minScore })}
        />
        <NumberField
          label="max recalls"
          title="Injections per generation at most"
          value={recall.maxRecalls}
          step={1}
          min={0}
          max={64}
          onChange={(maxRecalls) => setRecall({ maxRecalls })}
        />
      </div>
      <h2>Token sampling</h2>
      <div className="form-grid two">
        <NumberField
          label="temperature"
          title="0 = greedy"
          value={sampling.temperature}
          step={0.05}
          min={0}
          onChange={(temperature) => setSampling({ temperature })}
        />
        <NumberField
          label="top-k"
          title="0 = off"
          value={sampling.topK}
          step={1}
          min={0}
          onChange={(topK) => setSampling({ topK })}
        />
        <NumberField
          label="top-p"
          title="Nucleus sampling"
          value={sampling.topP}
          step={0.05}
          min={0.01}
          max={1}
          onChange={(topP) => setSampling({ topP })}
        />
        <NumberField
          label="min-p"
          title="Drop tokens below minP × p(max)"
          value={sampling.minP}
          step={0.01}
          min={0}
          max={0.99}
          onChange={(minP) => setSampling({ minP })}
        />
        <NumberField
          label="repeat penalty"
          title="1 = off"
          value={sampling.repetitionPenalty}
          step={0.05}
          min={1}
          onChange={(repetitionPenalty) => setSampling({ repetitionPenalty })}
        />
        <NumberField
          label="max tokens"
          title="Tokens generated at most"
          value={props.value.maxTokens}
          step={1}
          min={1}
          max={4096}
          onChange={(maxTokens) => props.onChange({ ...props.value, maxTokens })}
        />
      </div>
      <label title="Same seed + same inputs = same output; empty = random">
        <span>
          Seed <span className="muted">(empty = random)</span>
        </span>
        <input
          data-testid="seed"
          inputMode="numeric"
          value={props.value.seed}
          onChange={(e) =>
            props.onChange({ ...props.value, seed: e.target.value.replace(/[^0-9]/g, "") })
          }
        />
      </label>
      <button type="button" onClick={() => props.onChange(DEFAULT_CHAT_SETTINGS)}>
        Reset to defaults
      </button>
    </fieldset>
  );
}
