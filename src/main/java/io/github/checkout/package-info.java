/** The oversell-proof order processor: Kafka in, one atomic PostgreSQL decision, outcome events out. */
package io.github.checkout;
