/** What purchase and refund requests share: the idempotency key, and the rule for text they carry into the database. */
package io.github.checkout.request;
