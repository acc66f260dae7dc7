import { useEffect } from "react";
import type { WireCandidate, WireInjection } from "../../../src/shared/api.js";

/** One recall of a generation, assembled from its events. */
export interface RecallRecord {
  /** 1-based number of this recall in its turn. */
  index: number;
  /** Token position (tokens so far when the memory went in). */
  position: number;
  /** KV-cache position the memory took (or would have taken). */
  kvPosition: number;
  /** Euclidean norm of the query vector. */
  queryNorm: number;
  /** The store's top-k with their sampling probabilities. */
  candidates: WireCandidate[];
  /** Index of the chosen candidate, when one was injected. */
  chosen?: number;
  /** The injection record, once injected. */
  injection?: WireInjection;
  /** Why nothing was injected, when skipped. */
  skipped?: string;
}

const BAR_H = 22;
const LABEL_W = 150;
const CHART_W = 520;

function short(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** Horizontal SVG bars of the candidates' sampling probabilities (chosen one highlighted). */
export function ProbabilityChart(props: {
  candidates: WireCandidate[];
  chosen: number | undefined;
}) {
  const { candidates, chosen } = props;
  const barSpace = CHART_W - LABEL_W - 60;
  const height = candidates.length * (BAR_H + 6) + 24;
  return (
    <svg
      className="chart"
      data-testid="probability-chart"
      viewBox={`0 0 ${CHART_W} ${height}`}
      width="100%"
      role="img"
      aria-label="Sampling probability of each candidate"
    >
      {[0, 0.25, 0.5, 0.75, 1].map((t) => (
        <g key={t}>
          <line
            x1={LABEL_W + t * barSpace}
            x2={LABEL_W + t * barSpace}
            y1={0}
            y2={height - 18}
            className="grid"
          />
          <text x={LABEL_W + t * barSpace} y={height - 4} className="axis" textAnchor="middle">
            {t}
          </text>
        </g>
      ))}
      {candidates.map((c, i) => {
        const y = i * (BAR_H + 6) + 2;
        const w = Math.max(1, c.probability * barSpace);
        return (
          <g key={`${c.namespace}/${c.memoryId}`}>
            <title>
              {c.memoryId}: probability {c.probability.toFixed(4)}, cosine {c.score.toFixed(4)}
            </title>
            <text x={LABEL_W - 8} y={y + BAR_H / 2 + 4} textAnchor="end" className="label">
              {short(c.memoryId, 20)}
            </text>
            <rect
              x={LABEL_W}
              y={y}
              width={w}
              height={BAR_H}
              rx={3}
              className={i === chosen ? "bar chosen" : "bar"}
            />
            <text x={LABEL_W + w + 6} y={y + BAR_H / 2 + 4} className="value">
              {(c.probability * 100).toFixed(1)}%
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The details of one recall: candidates with scores and probabilities, the chosen one, a chart. */
export function RecallDetails(props: { recall: RecallRecord; turn: number; onClose: () => void }) {
  const { recall } = props;
  const chosen = recall.chosen === undefined ? undefined : recall.candidates[recall.chosen];
  const { onClose } = props;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="overlay">
      <button
        type="button"
        className="backdrop"
        aria-label="Close the details"
        onClick={props.onClose}
      />
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="recall-title"
        data-testid="recall-details"
      >
        <div className="row spread">
          <h2 id="recall-title">
            Recall #{recall.index} <span className="muted">(turn {props.turn})</span>
          </h2>
          <button
            type="button"
            onClick={props.onClose}
            aria-label="Close"
            data-testid="close-details"
          >
            ✕
          </button>
        </div>
        <p>
          At token position <strong>{recall.position}</strong> (KV position {recall.kvPosition});
          query norm {recall.queryNorm.toFixed(2)}.{" "}
          {recall.skipped ? (
            <span className="warn">Nothing injected: {recall.skipped}.</span>
          ) : chosen ? (
            <>
              Injected <strong data-testid="chosen-id">{chosen.memoryId}</strong> with cosine{" "}
              <strong>{chosen.score.toFixed(4)}</strong> and probability{" "}
              <strong>{chosen.probability.toFixed(4)}</strong>
              {recall.injection
                ? ` (${recall.injection.vectorCount} vector${recall.injection.vectorCount === 1 ? "" : "s"})`
                : ""}
              .
            </>
          ) : (
            "Searching…"
          )}
        </p>
        {chosen?.text && (
          <blockquote className="memory-text" data-testid="chosen-text">
            {chosen.text}
          </blockquote>
        )}
        {recall.candidates.length > 0 && (
          <>
            <h3>Candidates (top-{recall.candidates.length})</h3>
            <table className="table" data-testid="candidates-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>id</th>
                  <th>namespace</th>
                  <th>cosine</th>
                  <th>probability</th>
                  <th>text</th>
                </tr>
              </thead>
              <tbody>
                {recall.candidates.map((c, i) => (
                  <tr
                    key={`${c.namespace}/${c.memoryId}`}
                    className={i === recall.chosen ? "chosen" : ""}
                  >
                    <td>{i === recall.chosen ? "✔" : i + 1}</td>
                    <td className="mono">{c.memoryId}</td>
                    <td>{c.namespace}</td>
                    <td className="num">{c.score.toFixed(4)}</td>
                    <td className="num">{c.probability.toFixed(4)}</td>
                    <td className="text">{c.text}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3>Sampling probabilities</h3>
            <ProbabilityChart candidates={recall.candidates} chosen={recall.chosen} />
          </>
        )}
      </div>
    </div>
  );
}
