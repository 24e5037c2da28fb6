/** The holds core: requests that confirm, release, extend or expire a hold, their sealed outcomes, and the port to the deciding database function. */
package io.github.checkout.reservation;
