/** JDBC adapter: decides refund requests, of whole orders or of their lines, by calling the decide_refunds PostgreSQL function. */
package io.github.checkout.refund.jdbc;
