/** The embedded default: a real in-process KRaft broker and a real embedded PostgreSQL, used when none is configured. */
package io.github.checkout.embedded;
