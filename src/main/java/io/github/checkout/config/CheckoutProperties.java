package io.github.checkout.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Every setting of the service, under {@code checkout.*}. Kafka connection, consumer group and
 * PostgreSQL settings stay with Spring Boot's own {@code spring.kafka.*} and {@code spring.datasource.*}.
 */
@Validated
@ConfigurationProperties("checkout")
public record CheckoutProperties(
        @Valid @NotNull @DefaultValue Topics topics,
        @Valid @NotNull @DefaultValue Batch batch,
        @Valid @NotNull @DefaultValue Retry retry,
        @Valid @NotNull @DefaultValue Groups groups,
        @Valid @NotNull @DefaultValue Holds holds,
        /* this instance's stable id: its static group membership and transactional ids; unset, the host name and a slot (InstanceId) */
        @Pattern(regexp = "[A-Za-z0-9._-]{1,100}") String instanceId,
        /* a partition that has lag but has not advanced for this long is reported as stalled */
        @NotNull @DurationMin(seconds = 1) @DefaultValue("60s") Duration stallAfter,
        /* consumer threads per listener; unset, one per partition, at most two per processor */
        @Min(1) @Max(64) Integer concurrency,
        /* a request larger than this goes to the dead-letter topic unread */
        @Min(256) @Max(1048576) @DefaultValue("16384") int maxRequestBytes) {

    /** Consumer threads per listener on this machine: {@link #consumerThreads(Integer, int, int)} of these settings. */
    public int consumerThreads() {
        return consumerThreads(concurrency, topics.partitions(), Runtime.getRuntime().availableProcessors());
    }

    /**
     * Consumer threads per listener: {@code configured} when set; unset, one per partition the request topics are
     * created with ({@code checkout.topics.partitions}), so that a slow or stuck batch holds back no other partition,
     * but no more than two per processor. A thread spends most of a batch waiting for the database and the broker:
     * on two processors, requests spread over four partitions were decided faster by four threads than by two, and
     * by two than by one (docs/benchmark-defaults.md). Each thread of each listener holds a database connection
     * while it decides.
     */
    static int consumerThreads(Integer configured, int partitions, int processors) {
        return configured != null ? configured : Math.min(partitions, 2 * processors);
    }

    /** Topic names, and the partition count used when the service creates a missing topic. */
    public record Topics(
            @NotBlank @DefaultValue("purchase-requests") String purchaseRequests,
            @NotBlank @DefaultValue("purchase-requests.DLT") String purchaseRequestsDeadLetter,
            @NotBlank @DefaultValue("order-created") String orderCreated,
            @NotBlank @DefaultValue("out-of-stock") String outOfStock,
            @NotBlank @DefaultValue("purchase-rejected") String purchaseRejected,
            @NotBlank @DefaultValue("refund-requests") String refundRequests,
            @NotBlank @DefaultValue("refund-requests.DLT") String refundRequestsDeadLetter,
            @NotBlank @DefaultValue("order-refunded") String orderRefunded,
            @NotBlank @DefaultValue("refund-rejected") String refundRejected,
            @NotBlank @DefaultValue("reservation-requests") String reservationRequests,
            @NotBlank @DefaultValue("reservation-requests.DLT") String reservationRequestsDeadLetter,
            @NotBlank @DefaultValue("stock-reserved") String stockReserved,
            @NotBlank @DefaultValue("reservation-released") String reservationReleased,
            @NotBlank @DefaultValue("reservation-extended") String reservationExtended,
            @NotBlank @DefaultValue("reservation-expired") String reservationExpired,
            @NotBlank @DefaultValue("reservation-rejected") String reservationRejected,
            @Min(1) @DefaultValue("4") int partitions) {
    }

    /**
     * How many requests are decided together, in one database transaction and one Kafka transaction,
     * and how long the broker may wait to fill a batch ({@code fetch.max.wait.ms} once
     * {@code minBytes} are not yet there).
     */
    public record Batch(
            @Min(1) @Max(10000) @DefaultValue("2000") int maxRecords,
            @Min(1) @DefaultValue("65536") int minBytes,
            @NotNull @DefaultValue("10ms") Duration maxWait) {
    }

    /**
     * Back-off for transient failures (database or broker unreachable): retried without end, never dropped.
     * A batch that fails for any other reason is tried {@code attempts} times, then split to find the
     * requests that fail on their own, which are dead-lettered as undecidable.
     */
    public record Retry(
            @NotNull @DefaultValue("100ms") Duration initialInterval,
            @NotNull @DefaultValue("5s") Duration maxInterval,
            @Min(1) @Max(100) @DefaultValue("3") int attempts) {
    }

    /** One consumer group per path, so that a stall or a rebalance on one never pauses the other. */
    public record Groups(
            @NotBlank @DefaultValue("order-processor") String purchases,
            @NotBlank @DefaultValue("order-processor-refunds") String refunds,
            @NotBlank @DefaultValue("order-processor-reservations") String reservations) {
    }

    /**
     * Holds: stock reserved for a payment window. {@code maxDuration} bounds a {@code holdFor}, placing or extending;
     * a hold never ends later than {@code maxLifetime} after it was placed. Every {@code sweepInterval} each instance
     * expires up to {@code sweepBatch} holds whose time is up and sends their ExpireReservation; one sent but not yet
     * announced after {@code resendAfter} is sent again.
     */
    public record Holds(
            @NotNull @DurationMin(nanos = 1) @DefaultValue("PT15M") Duration maxDuration,
            @NotNull @DefaultValue("PT1H") Duration maxLifetime,
            @NotNull @DurationMin(millis = 10) @DefaultValue("PT1S") Duration sweepInterval,
            @Min(1) @Max(10000) @DefaultValue("1000") int sweepBatch,
            @NotNull @DurationMin(seconds = 1) @DefaultValue("PT30S") Duration resendAfter) {

        @AssertTrue(message = "max-lifetime must be at least max-duration")
        public boolean isLifetimeAtLeastMaxDuration() {
            return maxLifetime == null || maxDuration == null || maxLifetime.compareTo(maxDuration) >= 0;
        }
    }
}
