package io.github.checkout.bench;

import java.util.Arrays;

/** Who decides the requests: this service, or one of the two baselines measured in the same run. */
enum Mode {
    /** The service as configured: one decide_purchases call and one Kafka transaction per poll batch. */
    SERVICE("service", "service"),
    /** The service with nothing set but the connection: what runs out of the box, measured beside SERVICE. */
    DEFAULT("default", "service, defaults"),
    /** Baseline (a): the classic synchronous checkout, one place_order call per request from 32 JDBC connections. */
    JDBC("jdbc", "(a) 32 JDBC calls"),
    /** Baseline (b): the same service with batching turned off (checkout.batch.max-records=1). */
    UNBATCHED("unbatched", "(b) batching off");

    final String id;
    final String label;

    Mode(String id, String label) {
        this.id = id;
        this.label = label;
    }

    static Mode ofLabel(String label) {
        return Arrays.stream(values()).filter(m -> m.label.equals(label)).findFirst().orElseThrow();
    }

    static Mode of(String id) {
        return Arrays.stream(values()).filter(m -> m.id.equalsIgnoreCase(id.trim())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown mode '" + id + "', expected one of "
                        + Arrays.stream(values()).map(m -> m.id).toList()));
    }
}
