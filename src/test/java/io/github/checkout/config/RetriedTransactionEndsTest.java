package io.github.checkout.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class RetriedTransactionEndsTest {

    /** A producer whose broker is away for the first {@code timeouts} calls that end a transaction. */
    static final class BrokerAway extends MockProducer<String, String> {

        final AtomicInteger timeouts;

        BrokerAway(int timeouts) {
            super(true, null, new StringSerializer(), new StringSerializer());
            this.timeouts = new AtomicInteger(timeouts);
        }

        @Override
        public void commitTransaction() {
            timeOutWhileAway();
            super.commitTransaction();
        }

        @Override
        public void abortTransaction() {
            timeOutWhileAway();
            super.abortTransaction();
        }

        private void timeOutWhileAway() {
            if (timeouts.getAndDecrement() > 0) {
                throw new TimeoutException("Timeout expired after 2000ms while awaiting EndTxn");
            }
        }
    }

    @Test
    void commitThatTimesOut_isTriedAgainUntilTheBrokerAnswers() {
        BrokerAway raw = new BrokerAway(3);
        Producer<String, String> producer = RetriedTransactionEnds.retryTransactionEnds(raw);
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("topic", "value"));

        producer.commitTransaction();

        assertThat(raw.transactionCommitted()).isTrue();
        assertThat(raw.timeouts).hasNegativeValue();
    }

    @Test
    void abortThatTimesOut_isTriedAgainUntilTheBrokerAnswers() {
        BrokerAway raw = new BrokerAway(3);
        Producer<String, String> producer = RetriedTransactionEnds.retryTransactionEnds(raw);
        producer.initTransactions();
        producer.beginTransaction();

        producer.abortTransaction();

        assertThat(raw.transactionAborted()).isTrue();
    }

    @Test
    void otherFailures_areThrownAtOnce() {
        BrokerAway raw = new BrokerAway(0);
        Producer<String, String> producer = RetriedTransactionEnds.retryTransactionEnds(raw);
        producer.initTransactions();
        producer.beginTransaction();
        raw.commitTransactionException = new ProducerFencedException("fenced");

        assertThatThrownBy(producer::commitTransaction).isInstanceOf(ProducerFencedException.class);
    }

    @Test
    void timeoutOutsideATransactionEnd_isThrownAtOnce() {
        BrokerAway raw = new BrokerAway(0);
        Producer<String, String> producer = RetriedTransactionEnds.retryTransactionEnds(raw);
        raw.initTransactionException = new TimeoutException("Timeout expired while awaiting InitProducerId");

        assertThatThrownBy(producer::initTransactions).isInstanceOf(TimeoutException.class);
    }

    @Test
    void aCommitIsReportedOnceItSucceeds_withItsRetries_andAnAbortAlways() {
        BrokerAway raw = new BrokerAway(2);
        List<String> ends = new ArrayList<>();
        Producer<String, String> producer = RetriedTransactionEnds.retryTransactionEnds(raw,
                nanos -> ends.add("committed " + (nanos > 0)), () -> ends.add("aborted"));
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("topic", "value"));
        assertThat(ends).isEmpty();

        producer.commitTransaction();
        assertThat(ends).containsExactly("committed true");

        producer.beginTransaction();
        raw.commitTransactionException = new ProducerFencedException("fenced");
        assertThatThrownBy(producer::commitTransaction).isInstanceOf(ProducerFencedException.class);
        assertThat(ends).as("a commit that failed is no commit").containsExactly("committed true");
        raw.abortTransactionException = new ProducerFencedException("fenced");
        assertThatThrownBy(producer::abortTransaction).isInstanceOf(ProducerFencedException.class);
        assertThat(ends).containsExactly("committed true", "aborted");
    }
}
