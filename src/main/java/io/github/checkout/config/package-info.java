/** Settings of the service in one validated record, and the Kafka wiring built from them. */
package io.github.checkout.config;
