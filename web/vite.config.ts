import { defineConfig } from "vite";

// `npm run dev` serves the front end with hot reload and sends the API to a running
// `scripts/up` (SPINDLE_API, default http://127.0.0.1:3000); `npm run build` writes `dist/`,
// which the `web` component serves.
const api = process.env.SPINDLE_API ?? "http://127.0.0.1:3000";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, assetsDir: "assets", sourcemap: true },
  server: {
    proxy: {
      "/api": api,
      "/health": api,
      "/.well-known": api,
    },
  },
});
