/**
 * The one polling helper of the test suites. Polls `check` every `everyMs` until it returns something truthy
 * (and returns it); a `check` that throws counts as not yet, and its last error is named if time runs out.
 * Throws naming `what` after `timeoutMs`. The defaults suit the VM suites (a guest command per poll, steps
 * that take minutes); tests against the in-process API emulator poll faster (see `eventually` in
 * test/operator/support/harness.ts).
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 180_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
