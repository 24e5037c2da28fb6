/** JDBC adapter: decides purchase requests, single items and carts, by calling the decide_purchases PostgreSQL function. */
package io.github.checkout.purchase.jdbc;
