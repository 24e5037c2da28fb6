package io.github.checkout.request;

/**
 * One request's answer: its outcome event, and what the service counts it by. {@code kind} is the
 * outcome's kind, {@code errorCode} the rejection's code (null otherwise), and {@code replayed} says it
 * was answered with a decision made before (an earlier batch, or earlier in the same one), not decided now.
 */
public record Answer<O>(O event, String kind, String errorCode, boolean replayed) {
}
