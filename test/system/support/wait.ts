/** Moved to test/support/wait.ts (one polling helper for every suite); kept for the imports outside test/. */
export { waitFor } from '../../support/wait.js';
