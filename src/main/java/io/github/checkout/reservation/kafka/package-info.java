/** Kafka adapter: reads reservation requests in batches, publishes their outcomes transactionally, and sends the sweep's expiries. */
package io.github.checkout.reservation.kafka;
