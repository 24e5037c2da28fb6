/** The benchmark: the service against a synchronous and an unbatched baseline, on a real broker and PostgreSQL, with checks. */
package io.github.checkout.bench;
