/** Readiness of the service beyond the database: the broker, the listener containers and stalled partitions. */
package io.github.checkout.health;
