/** Kafka adapter: reads purchase requests in batches, dead-letters poison, publishes outcomes transactionally. */
package io.github.checkout.purchase.kafka;
