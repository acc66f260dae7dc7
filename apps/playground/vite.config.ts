import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The client is built into dist/client, which the server serves. `pnpm dev:client` proxies the API
// to a server started separately on 127.0.0.1:5178.
export default defineConfig({
  root: here("./client"),
  plugins: [react()],
  build: { outDir: here("./dist/client"), emptyOutDir: true, sourcemap: true },
  server: { host: "127.0.0.1", proxy: { "/api": "http://127.0.0.1:5178" } },
});
