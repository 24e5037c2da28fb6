package io.github.checkout.messaging;

import io.github.checkout.config.CheckoutProperties;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.stereotype.Component;

/** {@code checkout.partitions.stalled}: the partitions of each path that {@link StallMonitor} finds stalled now. */
@Component
class StalledPartitions implements MeterBinder {

    private final StallMonitor stalls;
    private final CheckoutProperties.Groups groups;

    StalledPartitions(StallMonitor stalls, CheckoutProperties properties) {
        this.stalls = stalls;
        this.groups = properties.groups();
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, Metrics.PURCHASE, groups.purchases());
        gauge(registry, Metrics.REFUND, groups.refunds());
        gauge(registry, Metrics.RESERVATION, groups.reservations());
    }

    private void gauge(MeterRegistry registry, String path, String group) {
        Gauge.builder("checkout.partitions.stalled", stalls,
                        s -> s.stalled().stream().filter(stall -> stall.groupId().equals(group)).count())
                .description("Partitions with requests waiting whose committed offset has not moved for checkout.stall-after")
                .tag("path", path)
                .register(registry);
    }
}
