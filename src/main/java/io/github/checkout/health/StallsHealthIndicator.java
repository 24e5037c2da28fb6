package io.github.checkout.health;

import io.github.checkout.config.CheckoutProperties;
import io.github.checkout.messaging.StallMonitor;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * {@code stalls}: no assigned partition has had requests waiting without advancing for
 * {@code checkout.stall-after} ({@link StallMonitor}). Details name each stalled partition, since when,
 * how far behind, and the last failure of the batch stuck there.
 */
@Component
class StallsHealthIndicator implements HealthIndicator {

    private final StallMonitor stalls;
    private final Duration stallAfter;

    StallsHealthIndicator(StallMonitor stalls, CheckoutProperties properties) {
        this.stalls = stalls;
        this.stallAfter = properties.stallAfter();
    }

    @Override
    public Health health() {
        List<StallMonitor.Stall> stalled = stalls.stalled();
        if (stalled.isEmpty()) {
            return Health.up().withDetail("stallAfter", stallAfter.toString()).build();
        }
        return Health.down().withDetail("stallAfter", stallAfter.toString())
                .withDetail("stalled", stalled.stream().map(StallsHealthIndicator::describe).toList()).build();
    }

    private static Map<String, Object> describe(StallMonitor.Stall stall) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("partition", stall.partition().toString());
        details.put("listener", stall.listenerId());
        details.put("group", stall.groupId());
        details.put("offset", stall.offset());
        details.put("behind", stall.behind());
        details.put("since", stall.since().toString());
        details.put("lastFailure", stall.lastFailure() == null ? "none seen (a batch may hang in a call that does not return)"
                : stall.lastFailure());
        return details;
    }
}
