/** Kafka plumbing shared by the request listeners: schema-checked reading, dead letters, outcome events. */
package io.github.checkout.messaging;
