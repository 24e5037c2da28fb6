/** The last-item race demo that runs on the embedded default. */
package io.github.checkout.demo;
