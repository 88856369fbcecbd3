// ESLint for the website widget (make check). Flat config, pinned in package-lock.json.
// The widget is a classic browser script (one IIFE, no modules, no build step), so it
// lints as a script with the browser's globals and the socket.io client's `io`.
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: ["node_modules/**", "vendor/**"] },
  js.configs.recommended,
  {
    files: ["widget/**/*.js"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "script",
      globals: { ...globals.browser, io: "readonly" },
    },
    rules: {
      eqeqeq: "error",
      "no-implicit-globals": "error",
      // The widget names its caught errors (`catch (e)`) without using them.
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
  },
];
