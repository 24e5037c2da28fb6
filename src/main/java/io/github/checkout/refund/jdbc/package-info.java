/** JDBC adapter: decides refund requests by calling the refund_orders PostgreSQL function. */
package io.github.checkout.refund.jdbc;
