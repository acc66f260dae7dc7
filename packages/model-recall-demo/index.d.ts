/** Absolute path of the GGUF file (llama arch, f16, byte-level tokenizer with a `<recall>` token). */
export declare const modelPath: string;
/** Absolute path of model.json: what mnemo's MemoryEncoder needs (trigger token, key template, value strategy, vectors per memory and their filler token). */
export declare const configPath: string;
/** Absolute path of eval.json (evaluation results of this model). */
export declare const evalPath: string;
