// ESLint (make jslint, part of make check). Flat config, pinned in package-lock.json.
// Run from the repository root (`make jslint` does: eslint --config web/eslint.config.js
// web clinic_assistant/console/static), so that the paths below are the repository's
// and the staff console's script, which lives outside web/, is linted too.
// Both are classic browser scripts (one IIFE, no modules, no build step): they lint as
// scripts with the browser's globals (and, for the widget, the socket.io client's `io`).
const js = require("@eslint/js");
const globals = require("globals");

const browserScript = {
  ecmaVersion: "latest",
  sourceType: "script",
};
const rules = {
  eqeqeq: "error",
  "no-implicit-globals": "error",
  // The scripts name their caught errors (`catch (e)`) without using them.
  "no-unused-vars": ["error", { caughtErrors: "none" }],
};

module.exports = [
  { ignores: ["web/node_modules/**", "web/vendor/**"] },
  js.configs.recommended,
  {
    files: ["web/widget/**/*.js"],
    languageOptions: { ...browserScript, globals: { ...globals.browser, io: "readonly" } },
    rules,
  },
  {
    // The staff console's script (clinic_assistant/console): htmx and Chart.js are
    // read from `window`, never as free globals.
    files: ["clinic_assistant/console/static/**/*.js"],
    languageOptions: { ...browserScript, globals: globals.browser },
    rules,
  },
  {
    files: ["web/eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
  },
];
