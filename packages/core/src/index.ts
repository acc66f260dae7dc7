export * from "./backend.js";
export * from "./errors.js";
export * from "./store.js";
export * from "./vectors.js";
