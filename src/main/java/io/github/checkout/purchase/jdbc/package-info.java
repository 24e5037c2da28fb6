/** JDBC adapter: decides purchase requests by calling the place_orders PostgreSQL function. */
package io.github.checkout.purchase.jdbc;
