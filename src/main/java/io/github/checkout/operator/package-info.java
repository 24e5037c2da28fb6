/** Operator commands run as modes of the service's jar: the stock audit and the restock. */
package io.github.checkout.operator;
