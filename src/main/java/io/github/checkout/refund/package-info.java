/** The refund core: refund requests, their sealed outcomes, and the port to the deciding database function. */
package io.github.checkout.refund;
