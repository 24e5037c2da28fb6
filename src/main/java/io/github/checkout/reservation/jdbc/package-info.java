/** JDBC adapter: decides reservation requests with the decide_reservations PostgreSQL function, and sweeps expired holds. */
package io.github.checkout.reservation.jdbc;
