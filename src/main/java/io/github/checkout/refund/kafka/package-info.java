/** Kafka adapter: reads refund requests in batches, dead-letters poison, publishes outcomes transactionally. */
package io.github.checkout.refund.kafka;
