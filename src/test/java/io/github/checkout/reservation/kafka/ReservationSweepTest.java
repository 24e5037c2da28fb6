package io.github.checkout.reservation.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.github.checkout.messaging.RequestReader;
import io.github.checkout.reservation.ReservationGateway;
import io.github.checkout.reservation.ReservationRequested;
import io.github.checkout.reservation.ReservationRequested.Type;
import io.github.checkout.support.ReaderProperties;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;
import tools.jackson.databind.json.JsonMapper;

class ReservationSweepTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final Transactions kafka = new Transactions();

    @Test
    void eachExpiredHold_isSentOnce_asAnExpireReservationKeyedByItsId_inOneTransaction() {
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        List<String> calls = new ArrayList<>();

        sweep(() -> List.of(a, b), calls).sweep();

        assertThat(calls).containsExactly("sweep 1000 PT30S");
        assertThat(kafka.committed).hasSize(1);
        List<ProducerRecord<byte[], byte[]>> sent = kafka.committed.get(0);
        assertThat(sent).map(r -> r.topic()).containsOnly("reservation-requests");
        assertThat(sent).map(r -> new String(r.key(), StandardCharsets.UTF_8)).containsExactly(a.toString(), b.toString());
        var reader = new ReservationRequestReader(ReaderProperties.withMaxRequestBytes(1024));
        assertThat(sent).map(r -> reader.readRecord(new ConsumerRecord<>(r.topic(), 0, 7L, r.key(), r.value())))
                .containsExactly(new RequestReader.Valid<>(new ReservationRequested(Type.EXPIRE, null, a, null, "reservation-requests-0@7")),
                        new RequestReader.Valid<>(new ReservationRequested(Type.EXPIRE, null, b, null, "reservation-requests-0@7")));
        assertThat(registry.get("checkout.holds.expired").counter().count()).isEqualTo(2);
        assertThat(registry.get("checkout.holds.sweeps").tag("result", "ok").timer().count()).isEqualTo(1);
    }

    @Test
    void nothingExpired_sendsNothing() {
        sweep(List::of, new ArrayList<>()).sweep();

        assertThat(kafka.committed).isEmpty();
        assertThat(kafka.transactions).isZero();
    }

    @Test
    void aDatabaseOrBrokerDown_isLoggedAndTriedAgainAtTheNextTick_neverThrown() {
        ReservationSweep databaseDown = sweep(() -> {
            throw new DataAccessResourceFailureException("database down");
        }, new ArrayList<>());
        assertThatCode(databaseDown::sweep).doesNotThrowAnyException();
        assertThatCode(databaseDown::sweep).doesNotThrowAnyException();

        kafka.failWith = new KafkaException("broker down");
        ReservationSweep brokerDown = sweep(() -> List.of(UUID.randomUUID()), new ArrayList<>());
        assertThatCode(brokerDown::sweep).doesNotThrowAnyException();

        assertThat(kafka.committed).isEmpty();
        assertThat(registry.get("checkout.holds.sweeps").tag("result", "failed").timer().count()).isEqualTo(3);
        assertThat(registry.get("checkout.holds.expired").counter().count()).isZero();
    }

    private ReservationSweep sweep(Supplier<List<UUID>> expired, List<String> calls) {
        ReservationGateway gateway = new ReservationGateway() {
            @Override
            public List<Decision> decide(List<ReservationRequested> requests) {
                throw new UnsupportedOperationException();
            }

            @Override
            public List<UUID> sweep(int limit, Duration resendAfter) {
                calls.add("sweep " + limit + " " + resendAfter);
                return expired.get();
            }
        };
        return new ReservationSweep(gateway, kafka, JsonMapper.builder().build(), ReaderProperties.withMaxRequestBytes(1024), registry);
    }

    /** Records what each transaction sends, and whether it commits, instead of sending it. */
    private static final class Transactions extends KafkaTemplate<byte[], byte[]> {

        final List<List<ProducerRecord<byte[], byte[]>>> committed = new ArrayList<>();
        int transactions;
        RuntimeException failWith;

        Transactions() {
            super(new DefaultKafkaProducerFactory<>(Map.of()));
        }

        @Override
        public <T> T executeInTransaction(OperationsCallback<byte[], byte[], T> callback) {
            transactions++;
            List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
            T result = callback.doInOperations(new KafkaTemplate<>(new DefaultKafkaProducerFactory<>(Map.of())) {
                @Override
                public CompletableFuture<SendResult<byte[], byte[]>> send(ProducerRecord<byte[], byte[]> record) {
                    if (failWith != null) {
                        throw failWith;
                    }
                    sent.add(record);
                    return CompletableFuture.completedFuture(null);
                }
            });
            committed.add(sent);
            return result;
        }
    }
}
